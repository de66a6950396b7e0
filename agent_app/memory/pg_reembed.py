"""Embedder changes of the PostgreSQL memory store: every item re-embedded at once, dimensions switched."""

from __future__ import annotations

import logging
from typing import Any

from agent_app.storage.pg import schema_lock

log = logging.getLogger(__name__)
META = (
    "CREATE TABLE IF NOT EXISTS agent_app_memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
)
SET_META = (
    "INSERT INTO agent_app_memory_meta (key, value) VALUES ('embedder', %s) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def reembed_on_change(store: Any, pool: Any, dims: int, model: str) -> bool:
    """Re-embed every item's text when the embedder (name or size) changed; True if it did.

    The new vectors are made before anything changes (a provider failing halfway leaves the old
    ones); the switch (delete, new column size, insert) is one transaction, under the schema lock
    so one process does it. Only the memory service's layout (the "text" field) is re-embedded.
    """
    want = f"{model}:{dims}"
    with schema_lock(pool), pool.connection() as conn:
        conn.execute(META)
        row = conn.execute(
            "SELECT value FROM agent_app_memory_meta WHERE key = 'embedder'"
        ).fetchone()
        size = conn.execute(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass('store_vectors') "
            "AND attname = 'embedding'"
        ).fetchone()
        if (row and row[0] == want) or (row is None and size and size[0] == dims):
            conn.execute(SET_META, (want,))  # the same embedder (or a store from before this check)
            return False
        rows = conn.execute(
            "SELECT prefix, key, value->>'text' FROM store WHERE value->>'text' IS NOT NULL"
        ).fetchall()
        log.warning("memory store: embedder changed to %s, re-embedding %d texts", want, len(rows))
        vectors = store.index_config["embed"].embed_documents([r[2] for r in rows]) if rows else []
        with conn.transaction():
            conn.execute("DELETE FROM store_vectors")
            if not size or size[0] != dims:
                conn.execute(
                    f"ALTER TABLE store_vectors ALTER COLUMN embedding TYPE vector({int(dims)})"
                )
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO store_vectors (prefix, key, field_name, embedding, created_at, "
                    "updated_at) VALUES (%s, %s, 'text', CAST(%s AS vector), now(), now())",
                    [
                        (p, k, "[" + ",".join(map(repr, v)) + "]")
                        for (p, k, _), v in zip(rows, vectors, strict=True)
                    ],
                )
            conn.execute(SET_META, (want,))
    return True
