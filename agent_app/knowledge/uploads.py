"""Stored copies of uploads on disk: written under a UUID and locked while ingested; orphans swept at start."""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from agent_app.knowledge.errors import DocumentError

try:  # POSIX only; without it nothing is swept (an orphan costs disk, a wrong sweep a document)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


class StoredUpload:
    """The stored file of one ingest; its lock tells other processes the ingest is still running."""

    def __init__(self, root: Path, data: bytes, kind: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        real = os.path.realpath(root)
        self.path = Path(real) / f"{uuid.uuid4().hex}.{kind}"
        if os.path.dirname(os.path.realpath(self.path)) != real:
            raise DocumentError("unreadable")
        # Created and locked under the shared directory lock: a sweep never sees it unlocked.
        with _directory_lock(root, fcntl.LOCK_SH if fcntl is not None else 0):
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd: int | None = fd
        try:
            _write_all(fd, data)
        except BaseException:
            self.release(delete=True)
            raise

    def release(self, *, delete: bool = False) -> None:
        """Drop the lock (after the commit, or after a failure together with the file)."""
        if delete:
            self.path.unlink(missing_ok=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class DiskFiles:
    """Uploads kept as files in the data directory (the SQLite deployment)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def stage(self, data: bytes, kind: str) -> StoredUpload:
        """The stored copy the parser reads, already in its final place."""
        return StoredUpload(self.root, data, kind)

    def attach(self, conn: object, document_id: int, path: Path) -> None:
        """Nothing to do inside the commit: the file is where it stays."""

    def discard(self, stored_name: str) -> None:
        """Delete a stored file after its document's rows went (called after the commit)."""
        (self.root / stored_name).unlink(missing_ok=True)

    def sweep(self, referenced: Callable[[], Iterable[str]]) -> int:
        """Remove copies left by interrupted uploads (see sweep_orphans)."""
        return sweep_orphans(self.root, referenced)

    def names(self) -> list[str]:
        """The stored files' names."""
        return sorted(os.listdir(self.root)) if self.root.is_dir() else []

    def read(self, stored_name: str) -> bytes | None:
        """A stored file's bytes (for a copy to another backend), or None."""
        path = self.root / safe_stored_name(stored_name)
        return path.read_bytes() if path.is_file() else None

    def put(self, conn: object, document_id: int, stored_name: str, data: bytes) -> None:
        """Write a copied file under its stored name (a copy from another backend)."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / safe_stored_name(stored_name)).write_bytes(data)


def safe_stored_name(name: str) -> str:
    """A stored name as we make them (uuid hex + kind): anything else never becomes a path."""
    if not re.fullmatch(r"[0-9a-f]{32}\.[a-z0-9]{1,10}", name):
        raise DocumentError("unreadable")
    return name


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def sweep_orphans(root: Path, referenced: Callable[[], Iterable[str]]) -> int:
    """Delete stored files no document row names and no running ingest holds; returns the count.

    A killed `kb add` leaves its copy behind: it was written before parsing (the parser reads it)
    and its row would only have come with the commit.
    """
    if fcntl is None or not root.is_dir():
        return 0
    removed = 0
    with _directory_lock(root, fcntl.LOCK_EX):
        known = set(referenced())
        for entry in os.scandir(root):
            if entry.name in known or entry.name.startswith("."):
                continue
            if entry.is_file(follow_symlinks=False):
                removed += _remove_if_unlocked(Path(entry.path), referenced)
    if removed:
        log.info("knowledge: removed %d stored file(s) left by interrupted uploads", removed)
    return removed


@contextmanager
def _directory_lock(root: Path, mode: int) -> Iterator[None]:
    if fcntl is None or not mode:
        yield
        return
    # Beside the directory, not in it: the directory holds stored files only.
    fd = os.open(root.parent / f"{root.name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)


def _remove_if_unlocked(path: Path, referenced: Callable[[], Iterable[str]]) -> int:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return 0
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # an ingest in another process still works on it
        os.close(fd)
        return 0
    try:
        if path.name in set(referenced()):  # committed between the listing and the lock
            return 0
        path.unlink(missing_ok=True)
        return 1
    finally:
        os.close(fd)
