"""A chat turn on PostgreSQL against the same turn on SQLite, alternated in one run."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402

# Run: .venv/bin/python benchmarks/bench_pg.py [--quick]
# Baseline, in the same run: the SQLite data directory (the default). The PostgreSQL server is
# the test one (tests/pg_local.py: loopback, fsync off), so this measures the client side and
# round trips, not a durable server's disk. Turns alternate between the two services.
logging.disable(logging.WARNING)
ANSWER = "好的，这是第{n}轮的回答：先断电，取下前盖，再更换滤网，最后重启设备。" * 3


def _service(data_dir: Path, url: str | None) -> Any:
    from agent_app.settings import Settings
    from tests.helpers import scripted_service
    from tests.scripted_model import ScriptedChatModel

    settings = Settings(
        data_dir=data_dir,
        provider="offline",
        database_url=url,
        memory_extract=False,
        _env_file=None,
    )
    model = ScriptedChatModel(default=lambda msgs: ANSWER.format(n=len(msgs)))
    return scripted_service(settings, model, tools=[])


def _turn(svc: Any, thread: str, i: int) -> float:
    start = time.perf_counter()
    for _ in svc.stream(thread, f"第{i}个问题：滤网多久换一次？", user_id="u"):
        pass
    return (time.perf_counter() - start) * 1000


def _rate(url: str, data_dir: Path, procs: int, turns: int) -> float:
    """Turns per second of `procs` worker processes on one database (tests/crash_worker.py)."""
    import os
    import subprocess

    from agent_app.settings import Settings
    from tests.helpers import scripted_service
    from tests.scripted_model import ScriptedChatModel

    settings = Settings(data_dir=data_dir, provider="offline", database_url=url, _env_file=None)
    svc = scripted_service(settings, ScriptedChatModel())
    threads = [svc.new_thread("u").id for _ in range(procs)]
    svc.close()
    env = {**os.environ, "AGENT_APP_DATABASE_URL": url, "AGENT_APP_MEMORY_EXTRACT": "false"}
    cmd = [sys.executable, "-m", "tests.crash_worker", str(data_dir)]
    workers = [
        subprocess.Popen(
            [*cmd, t, str(turns), f"p{i}"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for i, t in enumerate(threads)
    ]
    # Timed from each worker's first finished turn to its last: start-up is not throughput.
    spans = []
    for w in workers:
        assert w.stdout is not None
        stamps = [time.perf_counter() for _ in w.stdout]
        w.wait()
        spans.append((stamps[0], stamps[-1]))
    window = max(end for _, end in spans) - min(start for start, _ in spans)
    return procs * (turns - 1) / window


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    turns = 20 if parser.parse_args().quick else 60
    from tests.pg_local import start_local_postgres, stop_local_postgres

    server = start_local_postgres()
    try:
        url = server.create_database("bench")
        with tempfile.TemporaryDirectory() as work:
            lite = _service(Path(work) / "sqlite", None)
            pg = _service(Path(work) / "pg", url)
            threads = (lite.new_thread("u").id, pg.new_thread("u").id)
            times: dict[int, list[float]] = {0: [], 1: []}
            for i in range(turns):
                order = (0, 1) if i % 2 == 0 else (1, 0)
                for which in order:
                    svc = (lite, pg)[which]
                    times[which].append(_turn(svc, threads[which], i))
            lite.close()
            pg.close()
            one = _rate(server.create_database("one"), Path(work) / "one", 1, turns)
            two = _rate(server.create_database("two"), Path(work) / "two", 2, turns)
    finally:
        stop_local_postgres(server)
    record(
        [
            row("pg_turn_ms_p50", p50(times[1]), "ms", p50(times[0])),
            row("pg_two_process_turns_per_s", two, "1/s", one),
        ]
    )


if __name__ == "__main__":
    main()
