"""The local semantic embedder against the offline n-gram one: query latency and ingest throughput."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Run: .venv/bin/python benchmarks/bench_embedders.py
# Passages are the real chunks of the KB evaluation corpus (tests/corpus/kb), repeated to a few
# hundred; queries are its questions. The bars: ≤ 20 ms per query, ≥ 200 chunks/s.
QUERY_BAR_MS = 20.0
INGEST_BAR = 200.0


def corpus_chunks() -> list[str]:
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.settings import Settings

    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        settings = Settings(data_dir=Path(tmp), embedding_provider="offline", _env_file=None)
        kb = KnowledgeService(settings)
        try:
            kb.add_files(sorted((ROOT / "tests" / "corpus" / "kb").iterdir()), "c")
            rows = kb.store.conn.execute("SELECT text FROM kb_chunks ORDER BY id").fetchall()
        finally:
            kb.close()
    return [r[0] for r in rows]


def questions() -> list[str]:
    import json

    data = json.loads((ROOT / "tests" / "corpus" / "kb_eval.json").read_text(encoding="utf-8"))
    return [q["question"] for q in data]


def query_p50_ms(embedder, queries: list[str]) -> float:
    from benchmarks.results import p50

    embedder.embed_array(queries[:2])  # loaded and warm
    times = []
    for q in queries:
        started = time.perf_counter()
        embedder.embed_array([q])
        times.append(1000 * (time.perf_counter() - started))
    return p50(times)


def chunks_per_second(embedder, chunks: list[str], batch: int = 64) -> float:
    started = time.perf_counter()
    for i in range(0, len(chunks), batch):
        embedder.embed_array(chunks[i : i + batch])
    return len(chunks) / (time.perf_counter() - started)


def main() -> int:
    from agent_app.providers.local_embed import LocalSemanticEmbedder
    from agent_app.providers.offline_embed import OfflineEmbedder
    from benchmarks.results import record, row

    chunks = corpus_chunks()
    chunks = (chunks * (1 + 400 // max(1, len(chunks))))[:400]
    queries = questions()
    local, offline = LocalSemanticEmbedder(), OfflineEmbedder()
    started = time.perf_counter()
    local.embed_array(["load"])
    load_ms = 1000 * (time.perf_counter() - started)
    mean_chars = sum(map(len, chunks)) / len(chunks)
    print(f"{len(chunks)} chunks, {mean_chars:.0f} characters on average; load {load_ms:.0f} ms")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    rows = [
        row("embed.local_query_p50_ms", query_p50_ms(local, queries), "ms",
            query_p50_ms(offline, queries)),
        row("embed.local_query_bar_ms", query_p50_ms(local, queries), "ms", QUERY_BAR_MS),
        row("embed.local_chunks_per_s", chunks_per_second(local, chunks), "1/s",
            chunks_per_second(offline, chunks)),
        row("embed.local_chunks_bar", chunks_per_second(local, chunks), "1/s", INGEST_BAR),
        row("embed.local_model_load_ms", load_ms, "ms", None),
    ]  # fmt: skip
    record(rows)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
