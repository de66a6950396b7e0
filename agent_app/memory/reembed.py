"""Embedder changes of the memory store: every item re-embedded at once, so dimensions never mix."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from agent_app.vectors import EmbeddingMismatchError, VectorIndex, insert_vectors, reset_vectors
from agent_app.vectors import transaction as vector_transaction

if TYPE_CHECKING:
    from agent_app.memory.store import SqliteFaissStore

log = logging.getLogger(__name__)


def open_vector_index(
    store: SqliteFaissStore, options: dict[str, Any], reembed_on_change: bool
) -> VectorIndex:
    """The store's vector index; vectors of another embedder are replaced first (if allowed).

    Without `reembed_on_change` a mismatch raises EmbeddingMismatchError, as LangGraph's stores
    refuse an index of another dimension.
    """
    try:
        return VectorIndex(store._factory, store.name, dim=store.dims, model=store.model, **options)
    except EmbeddingMismatchError:
        if not reembed_on_change:
            raise
    reembed_items(store)
    return VectorIndex(store._factory, store.name, dim=store.dims, model=store.model, **options)


def reembed_items(store: SqliteFaissStore) -> None:
    """Re-embed every item with the store's embedder, then swap all vectors in one transaction.

    Embedding happens before the transaction: a provider failing halfway leaves the old vectors
    (and their dimension) untouched.
    """
    conn = store._conn()
    rows = conn.execute(f"SELECT ns, key, value FROM {store._table}").fetchall()
    chosen = [
        (ns, key, text) for ns, key, v in rows for text in store._texts_of(json.loads(v), None)
    ]
    log.warning(
        "memory store %s: embedder changed to %s (%d-d), re-embedding %d texts",
        store.name,
        store.model,
        store.dims,
        len(chosen),
    )
    vectors = store._embed([text for _, _, text in chosen])
    with vector_transaction(conn) as tx:
        reset_vectors(tx, store.name, store.dims, store.model)
        insert_vectors(
            tx,
            store.name,
            [(ns, key, vec) for (ns, key, _), vec in zip(chosen, vectors, strict=True)],
        )
