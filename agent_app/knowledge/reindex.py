"""Re-embed every stored chunk after an embedder change; the switch is one transaction."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agent_app.knowledge.chunking import Chunk
from agent_app.knowledge.embedders import Embedder
from agent_app.knowledge.errors import DocumentError
from agent_app.knowledge.store import KnowledgeStore
from agent_app.knowledge.vectorside import VectorIndex


def reindex_all(
    store: KnowledgeStore,
    vectors: VectorIndex,
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
        vectors.clear(conn)
        if ids:
            vectors.add(conn, ids, owners, np.vstack(parts))
        store.set_meta(conn, "embedder", embedder.name)
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
        raise DocumentError("embed_failed", reason=type(exc).__name__) from exc
    ids.extend(r[0] for r in rows)
    owners.extend(r[1] for r in rows)
