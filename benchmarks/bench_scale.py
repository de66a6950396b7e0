"""Scale: 20 users × 20 turns on SQLite / PostgreSQL (one, two processes); memory and KB search PG vs SQLite."""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_kb import SEED, SyntheticChunks, latency_ms  # noqa: E402
from benchmarks.results import p50, record, row  # noqa: E402

# Run: .venv/bin/python benchmarks/bench_scale.py [--users 20 --turns 20 --chunks 100000
#      --memories 100000] (about 40 min on a 2-core machine; --quick: 5,000 of each).
# Baselines, in the same run: turns per second of one process (SQLite, then PostgreSQL) for the
# two-process figure; SQLite + FAISS search latency over the same memories / chunks for
# PostgreSQL's. The PostgreSQL server is the test one (tests/pg_local.py: loopback, fsync off).
# Every embedder is the offline one, named explicitly, so figures compare across runs whatever
# the default embedder is.
logging.disable(logging.WARNING)


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def cpu_seconds(root: Path | None) -> tuple[float, float]:
    """(CPU seconds the machine spent busy, CPU seconds of the PostgreSQL server at `root`) so far.

    The server's figure sums its live processes and the sessions that ended (the postmaster's
    children); both come from /proc, so they are 0 where there is none.
    """
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    busy = (sum(fields[:8]) - fields[3] - fields[4]) / tick  # to steal; guest is in user already
    if root is None or not (root / "postmaster.pid").exists():
        return busy, 0.0
    master = int((root / "postmaster.pid").read_text().split()[0])
    total = 0
    for pid in [*_children(master), master]:  # the master last: a session ending meanwhile counts
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended between the listing and the read: counted in the master's children
        total += sum(int(v) for v in stat[11 : 15 if pid == master else 13])
    return busy, total / tick


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def run_users(
    url: str | None, work: Path, users: int, turns: int, procs: int, db_root: Path | None = None
) -> dict[str, float]:
    """Turns per second and p95 turn time of `procs` app processes sharing the users."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_APP_")}
    env.update(AGENT_APP_PROVIDER="offline", AGENT_APP_MEMORY_EXTRACT="false",
               AGENT_APP_EMBEDDING_PROVIDER="offline", AGENT_APP_TITLE_MODEL="false",
               PYTHONPATH=str(ROOT))  # fmt: skip
    if url:
        env["AGENT_APP_DATABASE_URL"] = url
    names = [f"user{n:02d}" for n in range(users)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "scale_worker.py"),
                str(work),
                ",".join(names[p::procs]),
                str(turns),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for p in range(procs)
    ]
    times: list[float] = []
    spans, rss_kb, cpu_s = [], [], []  # type: ignore[var-annotated]
    for w in workers:
        assert w.stdout is not None
        assert w.stdout.readline().strip() == "ready"
    busy0, db0 = cpu_seconds(db_root)
    for w in workers:  # each worker's window: its first finished turn to its last
        assert w.stdout is not None
        stamps, mine = [], []
        for line in w.stdout:
            if line.startswith("rss "):
                rss_kb.append(int(line.split()[1]))
                continue
            if line.startswith("cpu "):
                cpu_s.append(float(line.split()[1]))
                continue
            stamps.append(time.perf_counter())
            mine.append(float(line))
        w.wait()
        times += mine
        spans.append((stamps[0] - mine[0] / 1000, stamps[-1]))
    busy1, db1 = cpu_seconds(db_root)
    window = max(end for _, end in spans) - min(start for start, _ in spans)
    n = len(times)
    return {"turns_per_s": n / window, "p95_ms": p95(times), "turns": n,
            "rss_mb": max(rss_kb) / 1024, "app_cpu_ms_per_turn": 1000 * sum(cpu_s) / n,
            "db_cpu_ms_per_turn": 1000 * (db1 - db0) / n,
            "machine_cpu_ms_per_turn": 1000 * (busy1 - busy0) / n}  # fmt: skip


def build_kb(chunks: SyntheticChunks, data_dir: Path, url: str | None) -> Any:
    """A knowledge base holding the chunks (bulk insert; the indexes built as in normal use)."""
    from agent_app.knowledge.chunking import Chunk
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.settings import Settings

    service = KnowledgeService(
        Settings(data_dir=data_dir, embedding_provider="offline", database_url=url)
    )
    cid = service.store.ensure_collection(service.user, "bench")
    if url:  # load first, build HNSW once afterwards (what a re-index does)
        with service.store.transaction() as conn:
            service.vectors.reset(conn, chunks.vectors.shape[1], service.embedder.name)
    else:
        service.vectors.prepare(chunks.vectors.shape[1], service.embedder.name)
    for start in range(0, len(chunks.texts), 5000):
        with service.store.transaction() as conn:
            for doc_start in range(start, min(start + 5000, len(chunks.texts)), 100):
                span = range(doc_start, min(doc_start + 100, len(chunks.texts)))
                doc = {"name": f"doc{doc_start}.txt", "name_key": f"doc{doc_start}.txt", "status": "ready",
                       "content_hash": f"h{doc_start}", "chunk_count": len(span)}  # fmt: skip
                doc_id = service.store.insert_document(conn, cid, doc)
                rows = [
                    Chunk(n, chunks.texts[i], None, None, chunks.segs[i])
                    for n, i in enumerate(span)
                ]
                ids = service.store.insert_chunks(conn, cid, doc_id, rows)
                service.vectors.add(conn, ids, cid, chunks.vectors[span.start : span.stop])
            service.store.set_meta(conn, "embedder", service.embedder.name)
    service.vectors.prepare(chunks.vectors.shape[1], service.embedder.name)
    service.search("预热", ["bench"], 5)
    index = getattr(service.vectors, "_index", None)
    if index is not None:
        index.wait_idle(600)  # FAISS: let the IVF lists train (the steady state)
    return service


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--chunks", type=int, default=100_000, help="0: no KB search")
    parser.add_argument("--memories", type=int, default=100_000, help="0: no memory search")
    parser.add_argument("--rounds", type=int, default=3, help="turn measurements of each setup")
    parser.add_argument("--quick", action="store_true", help="5,000 chunks and memories")
    args, _ = parser.parse_known_args()
    if args.quick:
        args.chunks, args.memories = min(args.chunks, 5_000), min(args.memories, 5_000)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    from tests.pg_local import start_local_postgres, stop_local_postgres

    server = start_local_postgres()
    rows: list[dict[str, object]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            lite, one, two = turn_rounds(server, work, args)
            rows += [
                row("scale_pg_one_turns_per_s", one["turns_per_s"], "1/s", lite["turns_per_s"]),
                row("scale_pg_two_turns_per_s", two["turns_per_s"], "1/s", one["turns_per_s"]),
                row("scale_pg_one_turn_p95_ms", one["p95_ms"], "ms", lite["p95_ms"]),
                row("scale_pg_two_turn_p95_ms", two["p95_ms"], "ms", one["p95_ms"]),
                row("scale_pg_one_rss_mb", one["rss_mb"], "MB", lite["rss_mb"]),
                row(
                    "scale_pg_one_app_cpu_ms_per_turn",
                    one["app_cpu_ms_per_turn"],
                    "ms",
                    lite["app_cpu_ms_per_turn"],
                ),  # fmt: skip
                # The database's CPU per turn against the app's: what a second process adds.
                row(
                    "scale_pg_one_db_cpu_ms_per_turn",
                    one["db_cpu_ms_per_turn"],
                    "ms",
                    one["app_cpu_ms_per_turn"],
                ),  # fmt: skip
                # Machine CPU per turn with two processes against one: above 1, the second
                # process's turns cost more (contention), not only the same work twice as fast.
                row(
                    "scale_pg_two_machine_cpu_ms_per_turn",
                    two["machine_cpu_ms_per_turn"],
                    "ms",
                    one["machine_cpu_ms_per_turn"],
                ),  # fmt: skip
            ]
            if args.memories:
                rows += bench_memory(args.memories, work, server)
            if args.chunks:
                rows += bench_search(args.chunks, work, server)
    finally:
        stop_local_postgres(server)
        print(f"load average at end: {os.getloadavg()}", flush=True)
    record(rows)


def turn_rounds(server: Any, work: Path, args: Any) -> tuple[dict[str, float], ...]:
    """SQLite, PostgreSQL one process, two processes, `--rounds` times in turn; each one's median."""
    runs: dict[str, list[dict[str, float]]] = {"sqlite": [], "pg_one": [], "pg_two": []}
    for r in range(args.rounds):  # interleaved: a burst of other work hits every setup alike
        runs["sqlite"].append(run_users(None, work / f"lite{r}", args.users, args.turns, 1))
        for name, procs in (("pg_one", 1), ("pg_two", 2)):
            url = server.create_database(f"{name}{r}")
            got = run_users(url, work / f"{name}{r}", args.users, args.turns, procs, server.data)
            runs[name].append(got)
        print({name: got[-1] for name, got in runs.items()}, flush=True)
    return tuple(
        {key: statistics.median(run[key] for run in got) for key in got[0]} for got in runs.values()
    )


def load_memories(store: Any, texts: list[str], users: int) -> float:
    """Seconds to write the memories (users round-robin) in batches, as the app's writes do."""
    from langgraph.store.base import PutOp

    from agent_app.memory.service import memory_namespace

    started = time.perf_counter()
    for start in range(0, len(texts), 2_000):
        span = range(start, min(len(texts), start + 2_000))
        store.batch([PutOp(memory_namespace(f"u{i % users}"), f"m{i}", {"text": texts[i]})
                     for i in span])  # fmt: skip
    return time.perf_counter() - started


def bench_memory(n: int, work: Path, server: Any, users: int = 100) -> list[dict[str, object]]:
    """Memory recall p50 (MemoryService.search) on PostgreSQL against SQLite + FAISS, alternated."""
    from agent_app.memory.pg_store import bulk_load, open_pg_memory_store
    from agent_app.memory.service import MemoryService
    from agent_app.memory.store import SqliteFaissStore
    from agent_app.providers.offline_embed import OfflineEmbedder
    from benchmarks.bench_recall import memory_text, vocabulary

    rng = random.Random(7)
    zh = vocabulary(rng)
    texts = [memory_text(rng, zh) for _ in range(n)]
    asks = [(f"u{rng.randrange(users)}", "我的" + "".join(rng.choice(zh) for _ in range(2)) + "是什么？")
            for _ in range(300)]  # fmt: skip
    (work / "mem-lite").mkdir(parents=True)
    lite = SqliteFaissStore(work / "mem-lite" / "memory.db", OfflineEmbedder(),
                            index_fields=("text",), background=False)  # fmt: skip
    started = time.perf_counter()
    load_memories(lite, texts, users)
    lite.index.rebuild()
    lite_build = time.perf_counter() - started
    pg = open_pg_memory_store(server.create_database("mem"), OfflineEmbedder())
    started = time.perf_counter()
    with bulk_load(pg):  # HNSW built once over the rows, as `db migrate` does
        load_memories(pg, texts, users)
    pg_build = time.perf_counter() - started
    services = {"lite": MemoryService(lite), "pg": MemoryService(pg)}
    first: dict[str, list[float]] = {name: [] for name in services}  # builds the user's postings
    times: dict[str, list[float]] = {name: [] for name in services}
    seen: set[str] = set()
    for round_, (user, query) in enumerate(asks):
        order = ("lite", "pg") if round_ % 2 == 0 else ("pg", "lite")
        for name in order:  # alternated: the machine's load hits both alike
            started = time.perf_counter()
            services[name].search(user, query, 5)
            ms = 1000 * (time.perf_counter() - started)
            (times if user in seen else first)[name].append(ms)
        seen.add(user)
    lite.close()
    pg.close()
    print({"memories": n, "build_s": {"sqlite": lite_build, "pg": pg_build},
           "p50": {k: p50(v) for k, v in times.items()}}, flush=True)  # fmt: skip
    return [
        row(f"scale_memory_search_p50_ms_{n}", p50(times["pg"]), "ms", p50(times["lite"])),
        row(f"scale_memory_search_warmup_p50_ms_{n}", p50(first["pg"]), "ms", p50(first["lite"])),
        row(f"scale_memory_build_s_{n}", pg_build, "s", lite_build),
    ]


def bench_search(n: int, work: Path, server: Any) -> list[dict[str, object]]:
    """KB search p50 on PostgreSQL against SQLite + FAISS over the same chunks, alternated."""
    chunks = SyntheticChunks(n, random.Random(SEED))
    url = server.create_database("kb")  # pgvector: created by the store (superuser here)
    started = time.perf_counter()
    lite = build_kb(chunks, work / "kb-lite", None)
    lite_build = time.perf_counter() - started
    started = time.perf_counter()
    pg = build_kb(chunks, work / "kb-pg", url)
    pg_build = time.perf_counter() - started
    queries = chunks.queries[:100]
    times: dict[str, list[float]] = {"lite": [], "pg": []}
    for round_ in range(2):  # alternated: the machine's load hits both alike
        for name, svc in (
            (("lite", lite), ("pg", pg)) if round_ == 0 else (("pg", pg), ("lite", lite))
        ):
            times[name].append(latency_ms(lambda q, s=svc: s.search(q, ["bench"], 5), queries))
    lite.close()
    pg.close()
    print(
        {"chunks": n, "build_s": {"sqlite": lite_build, "pg": pg_build}, "p50": times}, flush=True
    )
    return [
        row(f"scale_kb_search_p50_ms_{n}", p50(times["pg"]), "ms", p50(times["lite"])),
        row(f"scale_kb_build_s_{n}", pg_build, "s", lite_build),
    ]


if __name__ == "__main__":
    main()
