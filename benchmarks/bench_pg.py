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
    finally:
        stop_local_postgres(server)
    record([row("pg_turn_ms_p50", p50(times[1]), "ms", p50(times[0]))])


if __name__ == "__main__":
    main()
