"""A race of another user's uploads and removals against one user's searches, counting leaked hits."""

from __future__ import annotations

import threading
import time
from typing import Any

from agent_app.knowledge.service import KnowledgeService

OWN = "爱丽丝的会议记录{n}：周一讨论预算，工资单流程。"
FOREIGN = "鲍勃机密{n}：工资单月薪三万，奖金五千，工资单每月十日发放。"
QUERIES = ("工资单 月薪", "奖金 发放", "会议记录 预算", "鲍勃机密")


def run_race(service: KnowledgeService, seconds: float, writers: int = 2) -> dict[str, Any]:
    """Alice searches while others upload and remove same-named files; returns counts and leaks."""
    alice = service.for_user("alice")
    alice.add_files([(f"own{n}.txt", OWN.format(n=n).encode()) for n in range(3)], "docs")
    deadline = time.monotonic() + seconds
    state: dict[str, Any] = {"searches": 0, "uploads": 0, "leaks": 0, "errors": []}
    lock = threading.Lock()

    def write(user: str) -> None:
        other, n = service.for_user(user), 0
        try:
            while time.monotonic() < deadline:
                # The same names as Alice's files, in a collection named like hers.
                name = f"own{n % 3}.txt"
                other.add_files([(name, FOREIGN.format(n=f"{user}{n}").encode())], "docs")
                if n % 2:  # frees the highest chunk ids, so the next insert reuses them
                    other.remove(name, "docs")
                n += 1
                with lock:
                    state["uploads"] += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            state["errors"].append(repr(exc))

    def read() -> None:
        n = 0
        try:
            while time.monotonic() < deadline:
                hits = alice.search(QUERIES[n % len(QUERIES)], None if n % 2 else ["docs"], k=5)
                bad = sum("鲍勃" in h["text"] for h in hits)
                with lock:
                    state["searches"] += 1
                    state["leaks"] += bad
                n += 1
        except BaseException as exc:  # noqa: BLE001
            state["errors"].append(repr(exc))

    threads = [threading.Thread(target=write, args=(f"bob{i}",)) for i in range(writers)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    return state
