"""Uploaded files kept in the database (bytea, with their document): nothing on the local disk."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from agent_app.storage.backend import Executor


class StagedUpload:
    """A private temporary copy for the parse worker; always removed afterwards."""

    def __init__(self, data: bytes, kind: str) -> None:
        self._dir = tempfile.mkdtemp(prefix="agent-app-kb-")
        self.path = Path(self._dir) / f"{uuid.uuid4().hex}.{kind}"
        with open(self.path, "xb") as fh:
            fh.write(data)
        os.chmod(self.path, 0o600)

    def release(self, *, delete: bool = False) -> None:
        """Remove the temporary copy: the database holds the committed one."""
        self.path.unlink(missing_ok=True)
        try:
            os.rmdir(self._dir)
        except OSError:
            pass


class DbFiles:
    """Uploads as rows of `kb_files`, written in the commit that adds their document."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def stage(self, data: bytes, kind: str) -> StagedUpload:
        """A temporary file the parser reads (the bytes go to the database at the commit)."""
        return StagedUpload(data, kind)

    def attach(self, conn: Executor, document_id: int, path: Path) -> None:
        """Store the file's bytes with its document, inside the caller's transaction."""
        conn.execute(
            "INSERT INTO kb_files (document_id, stored_name, data) VALUES (?, ?, ?)",
            (document_id, path.name, path.read_bytes()),
        )

    def discard(self, stored_name: str) -> None:
        """Nothing: a document's file row goes with the document (ON DELETE CASCADE)."""

    def sweep(self, referenced: Callable[[], Iterable[str]]) -> int:
        """Nothing to sweep: a file is committed with its document or not at all."""
        return 0

    def names(self) -> list[str]:
        """The stored files' names."""
        rows = self.store.conn.execute("SELECT stored_name FROM kb_files ORDER BY stored_name")
        return [str(r[0]) for r in rows.fetchall()]

    def read(self, stored_name: str) -> bytes | None:
        """A stored file's bytes (for export), or None."""
        row = self.store.conn.execute(
            "SELECT data FROM kb_files WHERE stored_name = ?", (stored_name,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def put(self, conn: Executor, document_id: int, stored_name: str, data: bytes) -> None:
        """Store a copied file with its document (a copy from another backend)."""
        conn.execute(
            "INSERT INTO kb_files (document_id, stored_name, data) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (document_id, stored_name, data),
        )
