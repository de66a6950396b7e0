"""CLI cold start: `agent-app chat --json` to its first event vs a bare LangChain + LangGraph import.

Both commands run as fresh processes, interleaved, in the same run; the figure is the ratio of the
medians. `--profile` also prints the slowest imports of one `chat --json` start (`-X importtime`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402

BASELINE = "import langchain.agents, langgraph.checkpoint.sqlite; print(1, flush=True)"


def first_line_ms(cmd: list[str], env: dict[str, str]) -> float:
    """Milliseconds from spawning `cmd` to its first line on stdout (then let it finish)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - t0) * 1000
    proc.communicate()
    if not line:
        raise RuntimeError(f"no output from {cmd!r} (exit {proc.returncode})")
    return elapsed


def measure(runs: int) -> tuple[list[float], list[float]]:
    """Interleaved cold starts of ours and of the baseline, after one unmeasured warm-up of each."""
    from tests.fakes import FakeDashScope

    with FakeDashScope() as fake, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DASHSCOPE_API_KEY": "sk-bench", "DASHSCOPE_API_BASE": fake.base_url,
               "AGENT_APP_MEMORY_EXTRACT": "false"}
        ours_cmd = [sys.executable, "-m", "agent_app.cli.main", "--data-dir", tmp, "chat", "--json", "hi"]
        base_cmd = [sys.executable, "-c", BASELINE]
        first_line_ms(ours_cmd, env)  # creates the data directory and warms the file cache
        first_line_ms(base_cmd, env)
        ours, base = [], []
        for _ in range(runs):
            base.append(first_line_ms(base_cmd, env))
            ours.append(first_line_ms(ours_cmd, env))
        if "--profile" in sys.argv:
            _profile(ours_cmd, env)
    return ours, base


def _profile(cmd: list[str], env: dict[str, str], min_ms: float = 15.0) -> None:
    """Print, in import order, the imports of one start costing over `min_ms` (two levels deep)."""
    proc = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2][1:]
        depth = (len(name) - len(name.lstrip(" "))) // 2
        if depth <= 1:  # level 0: imported by our code (at start or lazily); 1: what those pull in
            rows.append((int(parts[1]), int(parts[0]), name))
    print(f"{'cumulative ms':>14} {'self ms':>8}  import (an indented one is pulled in by the next unindented one)")
    for cumulative, self_time, name in rows:
        if cumulative < min_ms * 1000:
            continue
        print(f"{cumulative / 1000:14.1f} {self_time / 1000:8.1f}  {name}")


def main() -> None:
    runs = 3 if "--quick" in sys.argv else 9
    ours, base = measure(runs)
    print(f"chat --json first event: {sorted(round(v) for v in ours)} ms")
    print(f"bare import baseline:    {sorted(round(v) for v in base)} ms")
    record([row("core.cli_cold_start_to_first_event_ms", p50(ours), "ms", p50(base))])


if __name__ == "__main__":
    main()
