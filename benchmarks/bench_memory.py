"""Benchmark of the vector component and memory recall; appends rows to benchmarks/results.json."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent_app.vectors import VectorIndex, connect, insert_vectors, transaction  # noqa: E402
from agent_app.vectors.ann import single_thread  # noqa: E402

DIM, NAME, MODEL = 1024, "bench", "synthetic-1024"
RESULTS = ROOT / "benchmarks" / "results.json"


def synthetic(
    n: int, rng: np.random.Generator, centres: np.ndarray, basis: np.ndarray
) -> np.ndarray:
    """Unit vectors: one of 200 topics + a 32-d latent direction + isotropic noise.

    Real sentence embeddings are clustered with low intrinsic dimension; uniform random vectors
    are not (every point is nearly equidistant), so they would measure nothing useful. Nearest
    neighbours here have cosine ≈ 0.8, like a good query–passage match.
    """
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 10_000):
        m = min(10_000, n - start)
        lat = rng.standard_normal((m, basis.shape[0]), dtype=np.float32) @ basis
        noise = rng.standard_normal((m, DIM), dtype=np.float32)
        x = centres[rng.integers(0, len(centres), m)] + 0.7 * _unit(lat) + 0.3 * _unit(noise)
        out[start : start + m] = _unit(x)
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def percentiles(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t)
    return out


def load_rows(path: Path, x: np.ndarray, owners: list[str]) -> float:
    VectorIndex(path, NAME, dim=DIM, model=MODEL, background=False).close(snapshot=False)
    conn, started = connect(path), time.perf_counter()
    for start in range(0, len(x), 5000):
        with transaction(conn):
            insert_vectors(
                conn,
                NAME,
                ((owners[i], str(i), x[i]) for i in range(start, min(start + 5000, len(x)))),
            )
    conn.close()
    return time.perf_counter() - started


def start_to_ready(path: Path) -> tuple[float, float]:
    """Wall time from spawning a fresh Python process to a ready index, and the open() part alone."""
    code = (
        "from agent_app.vectors import VectorIndex; import time; t=time.perf_counter(); "
        f"i=VectorIndex({str(path)!r}, {NAME!r}, dim={DIM}, model={MODEL!r}, background=False); "
        "print('READY', time.perf_counter()-t, i.count(), flush=True)"
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - started
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("READY")][0]
    return wall, float(line.split()[1])


def search_rows(index: VectorIndex, x: np.ndarray, q: np.ndarray, owners: list[str]) -> list[dict]:
    """Unfiltered ANN latency and recall@10, and the 0.1 % owner filter, vs exact flat search."""
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    with single_thread():  # the faster setting for one query: a fair exact baseline
        flat_p50, _ = percentiles(timed(lambda v: flat.search(v[None], 10), q))
    _, truth = flat.search(q, 10)
    for v in q[:20]:  # warm-up
        index.search(v, 10)
    p50, p95 = percentiles(timed(lambda v: index.search(v, 10), q))
    found = [[h.id - 1 for h in index.search(v, 10)] for v in q]  # row ids are 1-based
    recall = float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    rare = np.array([o == "rare" for o in owners])
    rare_x, rare_ids = x[rare], np.flatnonzero(rare) + 1
    rp50, _ = percentiles(timed(lambda v: index.search(v, 10, owner="rare"), q))
    exact = np.mean(
        [
            [h.id for h in index.search(v, 10, owner="rare")]
            == rare_ids[np.argsort(-(rare_x @ v))[:10]].tolist()
            for v in q[:50]
        ]
    )
    s = index.stats()
    note = f"{s['kind']} nlist={s['nlist']} nprobe={s['nprobe']}, n={s['ntotal']}, d={DIM}"
    return [
        row("memory.search_p50", p50, "ms", flat_p50, note + "; baseline: exact flat, 1 thread"),
        row("memory.search_p95", p95, "ms", flat_p50),
        row("memory.recall_at_10", recall, "ratio", 1.0, "vs exact IndexFlatIP, same run"),
        row(
            "memory.search_owner_0.1pct_p50",
            rp50,
            "ms",
            flat_p50,
            f"{int(rare.sum())} rows; exact float32 top-10 in {exact:.0%} of queries",
        ),
    ]


def vector_rows(n: int, queries: int, work: Path) -> list[dict]:
    rng = np.random.default_rng(0)
    centres = _unit(rng.standard_normal((200, DIM), dtype=np.float32))
    basis = _unit(rng.standard_normal((32, DIM), dtype=np.float32))
    x, q = synthetic(n, rng, centres, basis), synthetic(queries, rng, centres, basis)
    owners = ["rare" if i % 1000 == 0 else f"user{i % 97}" for i in range(n)]
    path = work / "bench.sqlite"
    bulk = load_rows(path, x, owners)
    index = VectorIndex(path, NAME, dim=DIM, model=MODEL, background=False)
    started = time.perf_counter()
    index.rebuild()  # read SQLite, train IVF, add, snapshot
    rebuild = time.perf_counter() - started
    rows = search_rows(index, x, q, owners)
    adds = synthetic(200, rng, centres, basis)
    add_p50, add_p95 = percentiles(
        timed(lambda i: index.add("user1", f"n{i}", adds[i]), range(200))
    )
    started = time.perf_counter()
    index.snapshot(force=True)
    rewrite = time.perf_counter() - started
    index.close()
    wall, open_s = start_to_ready(path)
    print(f"bulk insert of {n} rows into SQLite: {bulk:.1f} s")
    return rows + [
        row(
            "memory.add_durable_p50",
            add_p50,
            "ms",
            rewrite * 1000,
            "SQLite commit (synchronous=FULL) + in-memory add; baseline: rewriting the index",
        ),
        row("memory.add_durable_p95", add_p95, "ms", rewrite * 1000),
        row(
            "memory.start_to_ready",
            wall,
            "s",
            rebuild,
            "fresh Python process incl. imports; baseline: full rebuild",
        ),
        row("memory.open_from_snapshot", open_s, "s", rebuild, "VectorIndex() alone"),
        row("memory.full_rebuild", rebuild, "s", None, "SQLite read + IVF train + add + snapshot"),
    ]


def turn_rows(turns: int, work: Path) -> list[dict]:
    """An agent turn with recall before the model call vs. the same agent without it."""
    from langchain.agents import create_agent
    from langchain.agents.middleware import ModelRequest, dynamic_prompt

    from agent_app.memory.service import MemoryService
    from agent_app.memory.store import SqliteFaissStore
    from agent_app.memory.tools import format_memories, recall_for_prompt
    from agent_app.providers.offline_embed import OfflineEmbedder
    from agent_app.storage.checkpoints import open_checkpointer
    from tests.scripted_model import ScriptedChatModel

    store = SqliteFaissStore(
        work / "memory.sqlite", OfflineEmbedder(), index_fields=("text",), background=False
    )
    service = MemoryService(store)
    for i in range(200):
        service.add(f"u{i % 10}", f"fact {i}: likes topic {i * 31 % 97} and city {i % 13}")

    def agent(recall: bool, checkpointer=None):
        @dynamic_prompt
        def memory_prompt(request: ModelRequest) -> str:
            if not recall:  # the same middleware with the setting off: isolates the recall cost
                return "You are helpful."
            query = request.state["messages"][-1].text
            found = recall_for_prompt(store, "u3", query, 5, 0.2)
            return "You are helpful." + format_memories(found, "en")

        model = ScriptedChatModel(default="ok")
        return create_agent(
            model, middleware=[memory_prompt], store=store, checkpointer=checkpointer
        )

    message = {"messages": [{"role": "user", "content": "what topic do I like in city 3?"}]}
    saver = open_checkpointer(work / "checkpoints.sqlite")
    rows = []
    for name, saver_or_none in (("", None), ("_checkpointed", saver)):
        plain, recalling = agent(False, saver_or_none), agent(True, saver_or_none)
        off, on = [], []
        for i in range(turns):  # interleaved, so machine load hits both equally
            config = {"configurable": {"thread_id": f"t{i}"}}
            off += timed(lambda cfg: plain.invoke(message, cfg), [config])  # noqa: B023
            on += timed(lambda cfg: recalling.invoke(message, cfg), [config])  # noqa: B023
        note = "SQLite checkpointer (as in the app)" if saver_or_none else "bare create_agent"
        on_p50, off_p50 = percentiles(on)[0], percentiles(off)[0]
        rows.append(
            row(
                f"memory.turn_recall_on{name}_p50",
                on_p50,
                "ms",
                off_p50,
                f"scripted model, {note}; baseline: recall off",
            )
        )
    store.close()
    return rows


def row(name: str, value: float, unit: str, baseline: float | None, note: str = "") -> dict:
    ratio = round(value / baseline, 4) if baseline else None
    out = {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 4),
        "ratio": ratio,
    }
    return dict(out, note=note) if note else out


def save(rows: list[dict]) -> None:
    existing = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else []
    names = {r["name"] for r in rows}
    clean = [{k: r[k] for k in ("name", "value", "unit", "baseline", "ratio")} for r in rows]
    merged = [r for r in existing if r.get("name") not in names] + clean
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, RESULTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 vectors instead of 100,000")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        rows = vector_rows(20_000 if args.quick else 100_000, 300, work)
        rows += turn_rows(50 if args.quick else 200, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save(rows)
    print(
        f"load average (1 min) on {os.cpu_count()} cores: {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    print(f"{'name':34} {'value':>10} {'unit':5} {'baseline':>10} {'ratio':>8}")
    for r in rows:
        base = "-" if r["baseline"] is None else f"{r['baseline']:.3f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        print(
            f"{r['name']:34} {r['value']:>10.3f} {r['unit']:5} {base:>10} {ratio:>8}  {r.get('note', '')}"
        )


if __name__ == "__main__":
    main()
