"""Read-only sharing of collections: who may read which collection, asked of the database on every call."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from agent_app.storage.backend import Executor

EVERYONE = "*"
"""The grantee that stands for every signed-in user (a team handbook)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_shares (
    collection_id INTEGER NOT NULL REFERENCES kb_collections(id) ON DELETE CASCADE,
    grantee TEXT NOT NULL, granted_by TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (collection_id, grantee));
CREATE INDEX IF NOT EXISTS kb_shares_grantee ON kb_shares(grantee);
"""
_KEYS = ("id", "name", "created_at", "documents", "chunks", "owner")
_COUNTED = (
    "SELECT c.id, c.name, c.created_at, COUNT(d.id), "
    "CAST(COALESCE(SUM(d.chunk_count), 0) AS INTEGER), c.owner "
    "FROM kb_collections c LEFT JOIN kb_documents d "
    "ON d.collection_id = c.id AND d.status = 'ready' "
)


def readable(conn: Executor, user: str) -> list[dict[str, Any]]:
    """The user's own collections, then those shared with them or everyone; each says whose it is.

    `read_only` is True for another user's collection; own ones list `shared_with` (grantee ids).
    """
    rows = conn.execute(
        _COUNTED + "WHERE c.owner = ? OR c.id IN "
        "(SELECT collection_id FROM kb_shares WHERE grantee IN (?, ?)) "
        "GROUP BY c.id ORDER BY c.owner <> ?, c.name, c.owner",
        (user, user, EVERYONE, user),
    ).fetchall()
    cols = [dict(zip(_KEYS, row, strict=True)) for row in rows]
    grants = grantees(conn, [c["id"] for c in cols if c["owner"] == user])
    for col in cols:
        col["read_only"] = col["owner"] != user
        col["shared_with"] = grants.get(col["id"], []) if not col["read_only"] else []
    return cols


def grantees(conn: Executor, collection_ids: Iterable[int]) -> dict[int, list[str]]:
    """{collection id: [grantee, …]} for these collections ('*' first when shared with everyone)."""
    ids = list(collection_ids)
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT collection_id, grantee FROM kb_shares WHERE collection_id IN ({','.join('?' * len(ids))}) "
        "ORDER BY grantee <> '*', grantee",
        ids,
    ).fetchall()
    found: dict[int, list[str]] = {}
    for cid, grantee in rows:
        found.setdefault(int(cid), []).append(str(grantee))
    return found


def grant(conn: Executor, collection_id: int, users: Iterable[str], by: str) -> None:
    """Let these users (or EVERYONE) read the collection; granting twice changes nothing."""
    for user in users:
        conn.execute(
            "INSERT INTO kb_shares (collection_id, grantee, granted_by, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (collection_id, user, by, time.time()),
        )


def revoke(conn: Executor, collection_id: int, users: Iterable[str] | None) -> int:
    """Stop sharing with these users (None: with everybody it was shared with); rows removed."""
    if users is None:
        return conn.execute(
            "DELETE FROM kb_shares WHERE collection_id = ?", (collection_id,)
        ).rowcount
    return sum(
        conn.execute(
            "DELETE FROM kb_shares WHERE collection_id = ? AND grantee = ?", (collection_id, user)
        ).rowcount
        for user in users
    )


def shared_collections(conn: Executor) -> list[dict[str, Any]]:
    """Every shared collection of every owner, with its grantees (the Admin page's list)."""
    rows = conn.execute(
        _COUNTED + "WHERE c.id IN (SELECT collection_id FROM kb_shares) "
        "GROUP BY c.id ORDER BY c.owner, c.name"
    ).fetchall()
    cols = [dict(zip(_KEYS, row, strict=True)) for row in rows]
    grants = grantees(conn, [c["id"] for c in cols])
    for col in cols:
        col["shared_with"] = grants.get(col["id"], [])
    return cols


def all_collections(conn: Executor) -> list[dict[str, Any]]:
    """Every collection of every owner (an admin picks one to share)."""
    rows = conn.execute(_COUNTED + "GROUP BY c.id ORDER BY c.owner, c.name").fetchall()
    return [dict(zip(_KEYS, row, strict=True)) for row in rows]
