"""The LangGraph SQLite checkpointer, opened with strict deserialization (RELIABILITY B6)."""

from __future__ import annotations

from pathlib import Path

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agent_app.storage.sqlite import connect


def open_checkpointer(path: Path) -> SqliteSaver:
    """A SqliteSaver on its own WAL connection; msgpack ext types limited to the safe allowlist."""
    saver = SqliteSaver(connect(path), serde=JsonPlusSerializer(allowed_msgpack_modules=None))
    saver.setup()
    # setup() switches to WAL itself; make sure FULL durability survives it.
    saver.conn.execute("PRAGMA synchronous=FULL")
    return saver
