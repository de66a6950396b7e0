"""One app process of bench_scale: its simulated users take turns, each turn's time on stdout."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ANSWER = "好的，这是第{n}轮的回答：先断电，取下前盖，再更换滤网，最后重启设备。" * 3


def run(data_dir: str, users: list[str], turns: int) -> None:
    """Each user has a conversation; users take turns one after another (a fake, instant model)."""
    from agent_app.settings import Settings
    from tests.helpers import scripted_service
    from tests.scripted_model import ScriptedChatModel

    # The database URL, when there is one, comes from AGENT_APP_DATABASE_URL.
    settings = Settings(data_dir=Path(data_dir), provider="offline", memory_extract=False)
    model = ScriptedChatModel(default=lambda msgs: ANSWER.format(n=len(msgs)))
    svc = scripted_service(settings, model, tools=[])
    threads = {user: svc.new_thread(user).id for user in users}
    print("ready", flush=True)
    cpu = time.process_time()
    for i in range(turns):
        for user, thread in threads.items():
            start = time.perf_counter()
            for _ in svc.stream(thread, f"第{i}个问题：滤网多久换一次？", user_id=user):
                pass
            print(f"{(time.perf_counter() - start) * 1000:.3f}", flush=True)
    # CPU seconds of the turns (this process's only, not the database's): turns per core-second.
    print(f"cpu {time.process_time() - cpu:.3f}", flush=True)
    svc.close()
    # Peak resident memory of this app process (kB on Linux): the sizing table's RAM figure.
    print(f"rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", flush=True)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]))
