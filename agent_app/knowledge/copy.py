"""Copy a knowledge base between backends (SQLite data directory ⇄ PostgreSQL), counted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent_app.knowledge import sharing
from agent_app.knowledge.chunking import Chunk
from agent_app.knowledge.ingest import name_key

if TYPE_CHECKING:
    from agent_app.knowledge.service import KnowledgeService


def copy_knowledge(src: KnowledgeService, dst: KnowledgeService) -> dict[str, tuple[int, int]]:
    """Collections, shares, documents, chunks and files; vectors re-made by dst's embedder.

    A document already in the destination (same collection and name) is kept as it is, so
    running the copy twice is safe. Returns (source rows, destination rows) per part.
    """
    docs = chunks = 0
    for col in sharing.all_collections(src.store.conn):
        cid = dst.store.ensure_collection(col["owner"], col["name"])
        grants = sharing.grantees(src.store.conn, [col["id"]]).get(col["id"], [])
        with dst.store.transaction() as conn:
            sharing.grant(conn, cid, grants, col["owner"])
        for doc in src.store.list_documents([col["id"]]):
            docs += 1
            chunks += int(doc["chunk_count"]) if doc["status"] == "ready" else 0
            _copy_document(src, dst, col["id"], cid, doc["name"])
    if chunks:
        dst.reindex()
    return {
        "kb_documents": (docs, _count(dst, "kb_documents")),
        "kb_chunks": (chunks, _count(dst, "kb_chunks")),
        "kb_files": (len(src.files.names()), len(dst.files.names())),
    }


def _copy_document(
    src: KnowledgeService, dst: KnowledgeService, src_cid: int, dst_cid: int, name: str
) -> None:
    key = name_key(name)
    doc = src.store.find_document(src_cid, name_key=key)
    if doc is None or dst.store.find_document(dst_cid, name_key=key) is not None:
        return
    rows = src.store.conn.execute(
        "SELECT id, ordinal, text, page, heading FROM kb_chunks WHERE document_id = ? "
        "ORDER BY ordinal",
        (doc["id"],),
    ).fetchall()
    segs = src.store.segments([int(r[0]) for r in rows])
    chunks = [Chunk(int(o), str(t), p, h, segs.get(int(i))) for i, o, t, p, h in rows]
    stored = doc.get("stored_name")
    data = src.files.read(stored) if stored else None
    row: dict[str, Any] = {**doc, "name_key": key, "stored_name": stored if data else None}
    with dst.store.transaction() as conn:
        new_id = dst.store.insert_document(conn, dst_cid, row)
        if data is not None and stored:
            dst.files.put(conn, new_id, stored, data)
        dst.store.insert_chunks(conn, dst_cid, new_id, chunks)


def _count(service: KnowledgeService, table: str) -> int:
    return int(service.store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
