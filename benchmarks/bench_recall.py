"""Search latency at 100k memories and 100k chunks: ours vs the previous code, in the same run."""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import p50, record, row  # noqa: E402

EN = (
    "manager wife daughter phone piano team football apartment marathon allergic penicillin "
    "coffee tea cook food city work office train bike dog cat garden school doctor nurse "
    "engineer music book travel summer winter weekend morning evening language parents"
).split()


def vocabulary(rng: random.Random) -> list[str]:
    """Common Chinese words from jieba's dictionary (memories look like everyday sentences)."""
    from agent_app.knowledge.segment import _get_jieba

    freq = _get_jieba().dt.FREQ
    words = [w for w, f in freq.items() if f > 200 and 1 < len(w) < 4]
    rng.shuffle(words)
    return words[:20_000]


def memory_text(rng: random.Random, zh: list[str]) -> str:
    if rng.random() < 0.7:
        return "我" + "".join(rng.choice(zh) for _ in range(rng.randint(3, 7)))
    return "My " + " ".join(rng.choice(EN) for _ in range(rng.randint(4, 9))) + "."


def build(work: Path, n: int, users: int, rng: random.Random):
    from langgraph.store.base import PutOp

    from agent_app.memory.service import memory_namespace
    from agent_app.memory.store import SqliteFaissStore
    from agent_app.providers.offline_embed import OfflineEmbedder

    zh = vocabulary(rng)
    store = SqliteFaissStore(
        work / "memory.sqlite", OfflineEmbedder(), index_fields=("text",), background=False
    )
    started = time.perf_counter()
    for start in range(0, n, 2_000):
        store.batch(
            [
                PutOp(memory_namespace(f"u{i % users}"), f"m{i}", {"text": memory_text(rng, zh)})
                for i in range(start, min(n, start + 2_000))
            ]
        )
    store.index.rebuild()
    print(
        f"{n} memories for {users} users written and indexed in {time.perf_counter() - started:.0f} s"
    )
    return store, zh


def timed(fn, queries) -> list[float]:
    out = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        out.append(1000 * (time.perf_counter() - started))
    return out


def memory_rows(n: int, users: int, queries: int) -> list[dict[str, object]]:
    from agent_app.memory.service import MemoryService, memory_namespace

    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bench-recall-") as tmp:
        store, zh = build(Path(tmp), n, users, rng)
        try:
            service = MemoryService(store)
            asks = [
                (
                    f"u{rng.randrange(users)}",
                    "我的" + "".join(rng.choice(zh) for _ in range(2)) + "是什么？",
                )
                for _ in range(queries)
            ]

            def previous(ask: tuple[str, str]) -> None:  # what MemoryService.search did before
                store.search(memory_namespace(ask[0]), query=ask[1], limit=5)

            def hybrid(ask: tuple[str, str]) -> None:
                service.search(ask[0], ask[1], 5)

            cold = timed(hybrid, asks[:20])  # first query of a user: postings built from SQLite
            timed(previous, asks[:20])
            old, new = [], []
            for ask in asks:  # interleaved, so machine load hits both alike
                old += timed(previous, [ask])
                new += timed(hybrid, [ask])
        finally:
            store.close()
    note = f"{n} memories, {users} users"
    print(f"{note}: hybrid p50 {p50(new):.2f} ms, previous vector-only {p50(old):.2f} ms")
    return [
        row("recall.memory_search_p50", p50(new), "ms", p50(old)),
        row("recall.memory_search_first_of_user_p50", p50(cold), "ms", p50(old)),
    ]


BASELINE_REV = "d1131ec"  # main before the coverage ranking: agent_app/knowledge/search.py


def previous_searcher_class():
    """HybridSearcher as it was at BASELINE_REV, loaded from git into a temporary module."""
    import importlib.util
    import subprocess

    source = subprocess.run(
        ["git", "show", f"{BASELINE_REV}:agent_app/knowledge/search.py"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("previous_search", f.name)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.HybridSearcher


def kb_rows(n: int) -> list[dict[str, object]]:
    from agent_app.knowledge.context import expand_hits
    from agent_app.knowledge.search import HybridSearcher
    from benchmarks.bench_kb import SyntheticChunks, build_ours

    rng = random.Random(11)
    chunks = SyntheticChunks(n, rng)
    with tempfile.TemporaryDirectory(prefix="bench-recall-kb-") as tmp:
        service, _ = build_ours(chunks, Path(tmp))
        try:
            ids = [c["id"] for c in service.list_collections()]
            ours = HybridSearcher(service.store, service.vectors, service.embedder)
            # The previous code fused the offline vectors at weight 0.2 (then their default).
            before = previous_searcher_class()(
                service.store, service.vectors, service.embedder, vector_weight=0.2
            )
            queries = chunks.queries
            for q in queries[:10]:
                ours.search(q, ids, 5)
                before.search(q, ids, 5)
            new, old, wide = [], [], []
            for q in queries:
                new += timed(lambda x: ours.search(x, ids, 5, covers_all=True), [q])
                old += timed(lambda x: before.search(x, ids, 5, covers_all=True), [q])
                # What the agent's tool runs: the same search plus neighbouring chunks.
                wide += timed(
                    lambda x: expand_hits(
                        service.store, ours.search(x, ids, 5, covers_all=True), ids
                    ),
                    [q],
                )
        finally:
            service.close()
    print(
        f"{n} chunks: ours p50 {p50(new):.2f} ms, with context expansion {p50(wide):.2f} ms, "
        f"previous {p50(old):.2f} ms"
    )
    return [
        row(f"recall.kb_search_p50_{n // 1000}k", p50(new), "ms", p50(old)),
        row(f"recall.kb_search_expanded_p50_{n // 1000}k", p50(wide), "ms", p50(new)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 items instead of 100,000")
    parser.add_argument("--only", choices=("memory", "kb"), help="run one half")
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    rows = []
    if args.only in (None, "memory"):
        rows += memory_rows(n, users=100, queries=300)
    if args.only in (None, "kb"):
        rows += kb_rows(n)
    record(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
