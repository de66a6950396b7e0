"""DOCX pre-flight checks done before anything is decompressed for real (zip bombs, entities)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

from agent_app.knowledge.errors import DocumentError

_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on what a DOCX may unpack to."""

    max_entries: int = 2_000
    max_entry_bytes: int = 64 * 1024 * 1024
    max_total_bytes: int = 200 * 1024 * 1024
    max_ratio: float = 100.0


def check_docx(path: str, limits: ZipLimits = ZipLimits()) -> None:
    """Reject zip bombs by declared sizes and ratio, then XML parts that declare a DTD."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check_declared(infos, limits)
            for info in infos:
                if info.filename.lower().endswith((".xml", ".rels")):
                    _check_xml_part(zf, info)
    except zipfile.BadZipFile as exc:
        raise DocumentError("corrupt") from exc


def _check_declared(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(infos) > limits.max_entries:
        raise DocumentError("bomb")
    total = 0
    for info in infos:
        size = info.file_size
        if size > limits.max_entry_bytes:
            raise DocumentError("bomb")
        # Tiny members compress badly or well by chance; the ratio matters for big ones.
        if size > 1024 * 1024 and size > limits.max_ratio * max(info.compress_size, 1):
            raise DocumentError("bomb")
        total += size
    if total > limits.max_total_bytes:
        raise DocumentError("bomb")


def _check_xml_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Read at most the declared size (+1 to catch lies) and look for DOCTYPE/ENTITY."""
    with zf.open(info) as fh:
        data = fh.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise DocumentError("bomb")
    if _DTD.search(data):
        raise DocumentError("xml_entities")
