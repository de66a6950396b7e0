"""A chat turn through LangGraph Server (`langgraph dev`) against the same turn in-process."""

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

# Run: .venv/bin/python benchmarks/bench_server.py [--quick]
# Baseline, in the same run: the in-process agent answering from the same loopback DashScope
# fake (the real ChatQwen client both ways). The server is `langgraph dev` (in memory, one
# worker), started as the tests start it; turns alternate between the two services.
logging.disable(logging.WARNING)
WARM = 2


def _services(work: Path, fake: Any, url: str) -> tuple[Any, Any]:
    from agent_app.settings import Settings
    from agent_app.wiring import open_service

    common = {"memory_extract": False, "title_model": False, "tools_dirs": "", "_env_file": None}
    local = Settings(
        data_dir=work / "local",
        dashscope_api_key="sk-bench",
        dashscope_api_base=fake.base_url,
        **common,
    )
    remote = Settings(data_dir=work / "remote", backend=url, **common)
    return open_service(local), open_service(remote)


def _turn(svc: Any, thread: str, i: int) -> float:
    start = time.perf_counter()
    kinds = [
        e.type
        for e in svc.stream(thread, f"question {i}: how often is the filter changed?", user_id="u")
    ]
    assert kinds[-1] == "done", kinds
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    turns = 10 if parser.parse_args().quick else 30
    from tests.fakes import FakeDashScope
    from tests.lg_server import langgraph_dev, server_env

    with FakeDashScope() as fake, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = server_env(
            {
                "DASHSCOPE_API_KEY": "sk-bench",
                "DASHSCOPE_API_BASE": fake.base_url,
                "AGENT_APP_TOOLS_DIRS": "",
                "AGENT_APP_DATA_DIR": str(work / "server"),
                "AGENT_APP_MEMORY_EXTRACT": "false",
            },
            work / "refused.log",
        )
        with langgraph_dev(work, env) as url:
            local, remote = _services(work, fake, url)
            threads = (local.new_thread("u").id, remote.new_thread("u").id)
            times: dict[int, list[float]] = {0: [], 1: []}
            for i in range(WARM + turns):
                for which in (0, 1) if i % 2 == 0 else (1, 0):
                    ms = _turn((local, remote)[which], threads[which], i)
                    if i >= WARM:  # the first turns build each agent
                        times[which].append(ms)
            local.close()
            remote.close()
    record([row("server_turn_ms_p50", p50(times[1]), "ms", p50(times[0]))])


if __name__ == "__main__":
    main()
