"""Sharing: a grantee's search of a shared handbook against its owner's search of it, same run.

Both search the same chunks; the grantee's call also asks who may read what (the share table),
every call. Alternated query by query, so load drifts hit both sides alike.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402

QUERIES = ["年假 病假", "报销 截止", "远程办公 设备", "会议室 预订", "出差 标准", "试用期"]


def _corpus(n_docs: int) -> list[tuple[str, bytes]]:
    topics = ["年假与病假", "报销流程", "远程办公设备", "会议室预订", "出差标准", "试用期考核"]
    docs = []
    for i in range(n_docs):
        topic = topics[i % len(topics)]
        body = "。".join(
            f"{topic}第{j}条：员工应当按照规定办理，部门{i}负责解释" for j in range(40)
        )
        docs.append((f"handbook_{i}.txt", body.encode()))
    return docs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    from agent_app.knowledge.worker import ParserPool
    from tests.kb_eval.helpers import make_service

    pool = ParserPool(size=2)
    with tempfile.TemporaryDirectory() as tmp:
        svc = make_service(Path(tmp), pool)
        owner, grantee = svc.for_user("alice"), svc.for_user("bob")
        owner.add_files(_corpus(args.docs), "handbook")
        for n in range(20):  # other users' collections and shares the query has to skip
            other = svc.for_user(f"user{n}")
            other.add_files([(f"n{n}.txt", f"私人笔记{n}：年假计划".encode())], "notes")
            other.share("notes", ["alice"])
        owner.share("handbook", ["bob"])
        own_ms, shared_ms = [], []
        for r in range(args.rounds):
            for q in QUERIES:
                pair = [(own_ms, owner), (shared_ms, grantee)]
                for bucket, who in pair if r % 2 == 0 else pair[::-1]:
                    start = time.perf_counter()
                    hits = who.search(q, ["handbook"], k=5)
                    bucket.append((time.perf_counter() - start) * 1000)
                    assert hits and all(h["source"].startswith("handbook_") for h in hits)
        svc.close()
    pool.close()
    record(
        [
            row("sharing.search_owner_p50", p50(own_ms), "ms", None),
            row("sharing.search_grantee_p50", p50(shared_ms), "ms", p50(own_ms)),
        ]
    )


if __name__ == "__main__":
    main()
