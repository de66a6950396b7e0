"""CLI cold start: `agent-app chat --json` to its first event vs a bare LangChain + LangGraph import.

Every command runs as a fresh process, interleaved, in the same run; the figures are ratios of the
medians: wall clock to the first line, and CPU time of the whole run (steadier under load).
`--profile` also prints the slowest imports of one `chat --json` start (`-X importtime`).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402

BASELINE = "import langchain.agents, langgraph.checkpoint.sqlite; print(1, flush=True)"
# The same plus the DashScope client (langchain-qwq pulls in langchain-openai and the openai SDK):
# the floor of any start that talks to DashScope.
WITH_CLIENT = (
    "import langchain.agents, langgraph.checkpoint.sqlite, langchain_qwq; print(1, flush=True)"
)


def first_line_ms(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock ms from spawning `cmd` to its first stdout line, and the CPU ms the whole run took.

    CPU time is the steadier figure on a shared machine: other work stretches the wall clock but
    hardly the CPU time a process needs.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - t0) * 1000
    proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not line:
        raise RuntimeError(f"no output from {cmd!r} (exit {proc.returncode})")
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return elapsed, cpu


def measure(runs: int) -> dict[str, list[tuple[float, float]]]:
    """Interleaved cold starts: the baseline, `chat --json` offline (no key) and against DashScope.

    Each command runs once unmeasured first (creates the data directory, warms the file cache).
    """
    from tests.fakes import FakeDashScope

    with FakeDashScope() as fake, tempfile.TemporaryDirectory() as tmp:
        quiet = {
            k: v for k, v in os.environ.items() if k not in ("DASHSCOPE_API_KEY", "OPENAI_API_KEY")
        }
        offline = {**quiet, "AGENT_APP_MEMORY_EXTRACT": "false", "AGENT_APP_PROVIDER": "offline"}
        dashscope = {
            **offline,
            "AGENT_APP_PROVIDER": "dashscope",
            "DASHSCOPE_API_KEY": "sk-bench",
            "DASHSCOPE_API_BASE": fake.base_url,
        }
        chat = [
            sys.executable,
            "-m",
            "agent_app.cli.main",
            "--data-dir",
            tmp,
            "chat",
            "--json",
            "hi",
        ]
        commands = {
            "baseline": ([sys.executable, "-c", BASELINE], quiet),
            "client": ([sys.executable, "-c", WITH_CLIENT], quiet),
            "offline": (chat, offline),
            "dashscope": (chat, dashscope),
        }
        for cmd, env in commands.values():
            first_line_ms(cmd, env)
        runs_by: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, (cmd, env) in commands.items():
                runs_by[name].append(first_line_ms(cmd, env))
        if "--profile" in sys.argv:
            _profile(chat, dashscope)
    return runs_by


def _profile(cmd: list[str], env: dict[str, str], min_ms: float = 15.0) -> None:
    """Print, in import order, the imports of one start costing over `min_ms` (two levels deep)."""
    proc = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2][1:]
        depth = (len(name) - len(name.lstrip(" "))) // 2
        if depth <= 1:  # level 0: imported by our code (at start or lazily); 1: what those pull in
            rows.append((int(parts[1]), int(parts[0]), name))
    print(
        f"{'cumulative ms':>14} {'self ms':>8}  import (an indented one is pulled in by the next unindented one)"
    )
    for cumulative, self_time, name in rows:
        if cumulative < min_ms * 1000:
            continue
        print(f"{cumulative / 1000:14.1f} {self_time / 1000:8.1f}  {name}")


def main() -> None:
    runs = 3 if "--quick" in sys.argv else 9
    by = measure(runs)
    for name, values in by.items():
        print(
            f"{name:9}  wall {sorted(round(w) for w, _ in values)} ms   cpu {sorted(round(c) for _, c in values)} ms"
        )
    base_wall, base_cpu = p50([w for w, _ in by["baseline"]]), p50([c for _, c in by["baseline"]])
    rows = []
    for name, label in (("dashscope", "cli_cold_start"), ("offline", "cli_cold_start_offline")):
        rows.append(
            row(f"core.{label}_to_first_event_ms", p50([w for w, _ in by[name]]), "ms", base_wall)
        )
        rows.append(row(f"core.{label}_cpu_ms", p50([c for _, c in by[name]]), "ms", base_cpu))
    client_wall, client_cpu = p50([w for w, _ in by["client"]]), p50([c for _, c in by["client"]])
    rows.append(
        row(
            "core.cli_cold_start_vs_bare_import_with_client_ms",
            p50([w for w, _ in by["dashscope"]]),
            "ms",
            client_wall,
        )
    )
    rows.append(
        row(
            "core.cli_cold_start_vs_bare_import_with_client_cpu_ms",
            p50([c for _, c in by["dashscope"]]),
            "ms",
            client_cpu,
        )
    )
    record(rows)


if __name__ == "__main__":
    main()
