"""Re-embed every stored chunk after an embedder change; the switch is one transaction."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agent_app.knowledge.backends import KBVectorSide
from agent_app.knowledge.chunking import Chunk
from agent_app.knowledge.embedders import Embedder
from agent_app.knowledge.errors import DocumentError
from agent_app.knowledge.rows import KnowledgeRows


def reindex_all(
    store: KnowledgeRows,
    vectors: KBVectorSide,
    embedder: Embedder,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed all chunks (old vectors keep serving meanwhile), then swap them in atomically."""
    total = store.conn.execute("SELECT COUNT(*) FROM kb_chunks").fetchone()[0]
    ids: list[int] = []
    owners: list[int] = []
    parts: list[np.ndarray] = []
    for rows in store.iter_all_chunks(batch=max(64, embedder.batch_size)):
        _embed_rows(rows, embedder, ids, owners, parts)
        if progress is not None:
            progress(len(ids), total)
    with store.transaction() as conn:
        # Chunks committed by another session while we were embedding get their vectors here.
        late = conn.execute(
            "SELECT id, collection_id, text, heading FROM kb_chunks WHERE id > ? ORDER BY id",
            (ids[-1] if ids else 0,),
        ).fetchall()
        if late:
            _embed_rows(late, embedder, ids, owners, parts)
        matrix = np.vstack(parts) if parts else embedder.embed(["dimension probe"])[:0]
        vectors.reset(conn, matrix.shape[1], embedder.name)
        by_collection: dict[int, list[int]] = {}
        for position, owner in enumerate(owners):
            by_collection.setdefault(owner, []).append(position)
        for owner, positions in by_collection.items():
            vectors.add(conn, [ids[p] for p in positions], owner, matrix[positions])
        store.set_meta(conn, "embedder", embedder.name)
    vectors.prepare(matrix.shape[1], embedder.name)  # reopen the in-memory index on the new rows
    return len(ids)


def _embed_rows(
    rows: list[tuple[int, int, str, str | None]],
    embedder: Embedder,
    ids: list[int],
    owners: list[int],
    parts: list[np.ndarray],
) -> None:
    texts = [Chunk(0, text, None, heading).index_text for _, _, text, heading in rows]
    try:
        parts.append(embedder.embed(texts).astype(np.float32))
    except Exception as exc:  # nothing was switched yet: the old index keeps serving
        raise DocumentError("reembed_failed", reason=type(exc).__name__) from exc
    ids.extend(r[0] for r in rows)
    owners.extend(r[1] for r in rows)
