"""Atomic FAISS snapshots: versioned index file + JSON pointer with checksum; never pickle."""

from __future__ import annotations

import json
import logging
import mmap
import os
import re
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import faiss
from filelock import FileLock

from agent_app.errors import StorageError

log = logging.getLogger(__name__)
FORMAT = 1
LOCK_TIMEOUT_S = 60.0


class SnapshotInvalid(Exception):
    """The snapshot cannot be used; the message says why (it is rebuilt from SQLite)."""


def lock_for(directory: Path, name: str) -> FileLock:
    """The inter-process lock that serialises snapshot writes and loads of one component."""
    directory.mkdir(parents=True, exist_ok=True)
    return FileLock(str(directory / f"{name}.lock"), timeout=LOCK_TIMEOUT_S)


def pointer_path(directory: Path, name: str) -> Path:
    """The snapshot pointer file of component `name`."""
    return directory / f"{name}.json"


def read_pointer(directory: Path, name: str) -> dict[str, Any] | None:
    """The current pointer, or None if absent or unreadable."""
    try:
        data = json.loads(pointer_path(directory, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _crc32(path: Path) -> int:
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return 0
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return zlib.crc32(mm)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def is_fresher(pointer: dict[str, Any] | None, meta: dict[str, Any]) -> bool:
    """True if `pointer` already covers `meta`'s state (so writing `meta` would not help)."""
    if not pointer or pointer.get("instance") != meta["instance"]:
        return False
    return (
        pointer.get("max_id", -1) >= meta["max_id"]
        and pointer.get("tomb_seq", -1) >= meta["tomb_seq"]
        and pointer.get("dim") == meta["dim"]
        and pointer.get("model") == meta["model"]
    )


def write(index: faiss.Index, directory: Path, name: str, meta: dict[str, Any]) -> Path:
    """Write index → fsync → rename to a new version, then atomically swap the JSON pointer.

    Call under `lock_for(directory, name)`. A crash at any point leaves the previous pointer and
    its index file untouched, so the previous snapshot stays loadable.
    """
    final = directory / f"{name}-{time.time_ns():x}{uuid.uuid4().hex[:6]}.faiss"
    tmp = final.with_name(f".{final.name}.tmp")
    try:
        faiss.write_index(index, str(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        size, crc = tmp.stat().st_size, _crc32(tmp)
        os.replace(tmp, final)
        _fsync_dir(directory)
        pointer = dict(
            meta,
            format=FORMAT,
            file=final.name,
            size=size,
            crc32=crc,
            ntotal=int(index.ntotal),
            created_at=time.time(),
        )
        _write_json(pointer_path(directory, name), pointer)
        _fsync_dir(directory)
    except (OSError, RuntimeError) as exc:  # ENOSPC, EIO, faiss write errors
        tmp.unlink(missing_ok=True)
        if (read_pointer(directory, name) or {}).get("file") != final.name:
            final.unlink(missing_ok=True)
        raise StorageError(f"snapshot of {name} failed: {exc}") from exc
    _remove_stale(directory, name, keep=final.name)
    return final


def _remove_stale(directory: Path, name: str, keep: str) -> None:
    """Delete older versions and leftovers of crashed writes (deleted vectors must leave the disk)."""
    pattern = re.compile(
        rf"^\.?{re.escape(name)}(-[0-9a-f]+\.faiss(\.tmp)?|\.json\.[0-9a-f]+\.tmp)$"
    )
    for path in directory.iterdir():
        if path.name != keep and pattern.match(path.name):
            path.unlink(missing_ok=True)


def load(directory: Path, name: str, expect: dict[str, Any]) -> tuple[faiss.Index, dict[str, Any]]:
    """Load and verify the current snapshot; raise SnapshotInvalid with the reason otherwise."""
    pointer = read_pointer(directory, name)
    if pointer is None:
        missing = not pointer_path(directory, name).exists()
        raise SnapshotInvalid("missing" if missing else "pointer unreadable")
    file = str(pointer.get("file", ""))
    # The file name comes from disk: accept only our own naming (no path traversal).
    if pointer.get("format") != FORMAT or not re.fullmatch(
        rf"{re.escape(name)}-[0-9a-f]+\.faiss", file
    ):
        raise SnapshotInvalid("unknown format")
    for key, value in expect.items():
        if pointer.get(key) != value:
            raise SnapshotInvalid(f"{key} differs ({pointer.get(key)!r} != {value!r})")
    path = directory / file
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SnapshotInvalid("index file missing") from exc
    if size != pointer.get("size") or _crc32(path) != pointer.get("crc32"):
        raise SnapshotInvalid("index file truncated or corrupt (size/checksum mismatch)")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        raise SnapshotInvalid(f"index file unreadable: {str(exc)[:120]}") from exc
    if index.ntotal != pointer.get("ntotal") or index.d != pointer.get("dim"):
        raise SnapshotInvalid("index size or dimension differs from its pointer")
    return index, pointer
