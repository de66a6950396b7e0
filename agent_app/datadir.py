"""Whether the data directory survives a restart: a start-up sentinel and the filesystem it is on."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
SENTINEL = ".agent-app-sentinel"
# Filesystems that vanish with the process or container: RAM disks and a container's own layer.
EPHEMERAL_FS = {"tmpfs", "ramfs", "overlay", "aufs"}
CLOUD_CHECKOUT = Path("/mount/src")  # Streamlit Community Cloud's checkout, rebuilt on every reboot


def touch_sentinel(data_dir: Path) -> dict[str, Any]:
    """Read the sentinel written at the first start, writing it (atomically) if missing."""
    path = data_dir / SENTINEL
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    record = {"id": str(uuid.uuid4()), "created_at": time.time()}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return record


def _mount_of(path: Path, mounts_text: str) -> tuple[str, str]:
    """(mount point, filesystem type) of the longest mount prefix of `path`."""
    best = ("/", "")
    for line in mounts_text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = path == Path(point) or Path(point) in path.parents
        if inside and len(point) >= len(best[0]) and (point != "/" or not best[1]):
            best = (point, parts[2])
    return best


def ephemeral_reason(data_dir: Path, mounts_text: str | None = None) -> str | None:
    """'cloud' or the filesystem type when the data directory will not survive a restart, else None."""
    path = data_dir.resolve()
    if path == CLOUD_CHECKOUT or CLOUD_CHECKOUT in path.parents:
        return "cloud"
    if mounts_text is None:
        try:
            mounts_text = Path("/proc/self/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    _point, fstype = _mount_of(path, mounts_text)
    return fstype if fstype in EPHEMERAL_FS else None
