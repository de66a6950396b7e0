"""CLI cold start: `agent-app chat --json` to its first event vs a bare LangChain + LangGraph import.

Every command runs as a fresh process, interleaved, in the same run; the figures are ratios of the
medians: wall clock to the first line (the `started` event naming the conversation), to the first
answer token, and CPU time of the whole run (steadier under load). The light commands (`kb list`,
`memory list`, which load no model or agent) are timed whole against a bare `python -c pass`.
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


def first_line_ms(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Ms from spawning `cmd` to its first stdout line and to its first answer token; CPU ms in all.

    CPU time is the steadier figure on a shared machine: other work stretches the wall clock but
    hardly the CPU time a process needs. A command that prints no token (the baselines) gets its
    first line's time as its token time.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    first = (time.perf_counter() - t0) * 1000
    token = first
    if line and not line.startswith(b'{"type": "token"'):
        for later in proc.stdout:
            if later.startswith(b'{"type": "token"'):
                token = (time.perf_counter() - t0) * 1000
                break
    proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not line:
        raise RuntimeError(f"no output from {cmd!r} (exit {proc.returncode})")
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return first, token, cpu


def whole_run_ms(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall ms of the whole run of `cmd` and the CPU ms it used (for output that comes at the end)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, check=False)
    wall = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd!r} exited {done.returncode}: {done.stderr[-500:]!r}")
    return wall, (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000


def measure_light(runs: int) -> dict[str, list[tuple[float, float]]]:
    """`kb list` and `memory list` on a data directory holding one document and one memory,
    interleaved with a bare `python -c pass` (each command once unmeasured first)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(AGENT_APP_PROVIDER="offline", PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"))
        note = Path(tmp) / "note.md"
        note.write_text("# Leave\n\nFifteen days of annual leave a year.\n", encoding="utf-8")
        cli = [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(Path(tmp) / "data")]
        whole_run_ms([*cli, "kb", "add", str(note), "--collection", "c"], env)
        whole_run_ms([*cli, "memory", "add", "likes oolong tea"], env)
        commands = {
            "bare": [sys.executable, "-c", "pass"],
            "kb_list": [*cli, "kb", "list"],
            "memory_list": [*cli, "memory", "list"],
        }
        for cmd in commands.values():
            whole_run_ms(cmd, env)
        by: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, cmd in commands.items():
                by[name].append(whole_run_ms(cmd, env))
    return by


def light_rows(by: dict[str, list[tuple[float, float]]]) -> list[dict[str, object]]:
    """Rows for the light commands: wall and CPU medians against the bare interpreter's."""
    bare_wall, bare_cpu = p50([w for w, _ in by["bare"]]), p50([c for _, c in by["bare"]])
    rows = []
    for name in ("kb_list", "memory_list"):
        print(f"{name:12} wall {sorted(round(w) for w, _ in by[name])} ms")
        rows.append(row(f"core.cli_{name}_ms", p50([w for w, _ in by[name]]), "ms", bare_wall))
        rows.append(row(f"core.cli_{name}_cpu_ms", p50([c for _, c in by[name]]), "ms", bare_cpu))
    return rows


def measure(runs: int) -> dict[str, list[tuple[float, float, float]]]:
    """Interleaved cold starts: the baseline, `chat --json` offline (no key) and against DashScope.

    Each command runs once unmeasured first (creates the data directory, warms the file cache).
    """
    from tests.fakes import FakeDashScope

    with FakeDashScope() as fake, tempfile.TemporaryDirectory() as tmp:
        # Bytecode as an installed copy has it: a run with PYTHONDONTWRITEBYTECODE would compile
        # every project module from source on each start, while the libraries' .pyc exist.
        # The unmeasured first run of each command fills this cache, for all commands alike.
        skip = ("DASHSCOPE_API_KEY", "OPENAI_API_KEY", "PYTHONDONTWRITEBYTECODE")
        quiet = {k: v for k, v in os.environ.items() if k not in skip}
        quiet["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
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
            str(Path(tmp) / "data"),
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
        runs_by: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
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
            f"{name:9}  first line {sorted(round(f) for f, _, _ in values)} ms"
            f"   first token {sorted(round(t) for _, t, _ in values)} ms"
            f"   cpu {sorted(round(c) for _, _, c in values)} ms"
        )

    def median(name: str, i: int) -> float:
        return p50([v[i] for v in by[name]])

    base, base_cpu, client = median("baseline", 0), median("baseline", 2), median("client", 0)
    rows = []
    for name, label in (("dashscope", "cli_cold_start"), ("offline", "cli_cold_start_offline")):
        rows.append(row(f"core.{label}_to_first_event_ms", median(name, 0), "ms", base))
        rows.append(row(f"core.{label}_to_first_token_ms", median(name, 1), "ms", base))
        rows.append(row(f"core.{label}_cpu_ms", median(name, 2), "ms", base_cpu))
    rows.append(
        row(
            "core.cli_cold_start_first_token_vs_bare_import_with_client_ms",
            median("dashscope", 1),
            "ms",
            client,
        )
    )
    rows.extend(light_rows(measure_light(runs)))
    record(rows)


if __name__ == "__main__":
    main()
