"""Subprocess body for crash and concurrency tests: runs scripted turns in a loop."""

from __future__ import annotations

import sys
from pathlib import Path


def run(data_dir: str, thread_id: str, turns: int, tag: str) -> None:
    from agent_app.settings import Settings
    from tests.helpers import scripted_service
    from tests.scripted_model import ScriptedChatModel, call

    settings = Settings(data_dir=Path(data_dir), provider="offline", _env_file=None)
    model = ScriptedChatModel(
        default=lambda msgs: (
            call("add", {"a": 1, "b": 2}) if msgs[-1].type == "human" else "answer " + tag
        )
    )
    svc = scripted_service(settings, model)
    for i in range(turns):
        for _ in svc.stream(thread_id, f"{tag}-{i}", user_id="u"):
            pass
        print(f"turn {i}", flush=True)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
