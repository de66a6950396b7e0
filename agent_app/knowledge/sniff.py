"""File-type sniffing by magic bytes; an extension that lies about the content is rejected."""

from __future__ import annotations

import io
import zipfile

from agent_app.knowledge.errors import DocumentError

# Extension → document kind. Anything else is unsupported.
EXTENSIONS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".log": "txt",
    ".html": "html",
    ".htm": "html",
    ".csv": "csv",
}
TEXT_KINDS = {"md", "txt", "html", "csv"}
IMAGE_EXTENSIONS = {".png": "image", ".jpg": "image", ".jpeg": "image"}
"""Taken only when a text-recognition model is configured (AGENT_APP_OCR_MODEL)."""

# Binary signatures we recognise well enough to name in the error.
_BINARY_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),  # legacy .doc/.xls
    (b"\x7fELF", "elf"),
    (b"MZ", "exe"),
    (b"\x89PNG", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF8", "image"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf", "archive"),
    (b"Rar!", "archive"),
    (b"{\\rtf", "rtf"),
)
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def kind_from_name(name: str, *, images: bool = False) -> str:
    """The document kind an upload's name claims, or raise 'unsupported type'."""
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    kind = EXTENSIONS.get(ext) or (IMAGE_EXTENSIONS.get(ext) if images else None)
    if kind is None:
        raise DocumentError("unsupported_type", ext=ext or "?")
    return kind


def sniff(head: bytes, data_for_zip: bytes | None = None) -> str:
    """Real type from content: pdf, docx, zip, ole, elf, image, …, text or binary."""
    if head.lstrip()[:5] == b"%PDF-" or (b"%PDF-" in head[:1024] and not looks_like_text(head)):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(data_for_zip) if data_for_zip is not None else "zip"
    for magic, kind in _BINARY_MAGIC:
        if head.startswith(magic):
            return kind
    return "text" if looks_like_text(head) else "binary"


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "zip"
    return "docx" if "word/document.xml" in names else "zip"


def looks_like_text(head: bytes) -> bool:
    """No NUL bytes (unless a UTF-16 text) and few C0 control characters."""
    if not head or head.startswith(_TEXT_BOMS):
        return True
    if b"\x00" in head:
        return _looks_like_utf16(head)
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls <= len(head) // 100


def _looks_like_utf16(head: bytes) -> bool:
    """BOM-less UTF-16 text decodes cleanly and is mostly printable."""
    even = head[: len(head) - len(head) % 2]
    for codec in ("utf-16-le", "utf-16-be"):
        try:
            text = even.decode(codec)
        except UnicodeDecodeError:
            continue
        printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
        if text and printable / len(text) > 0.95:
            return True
    return False


def check_kind(claimed: str, head: bytes, data: bytes) -> str:
    """Return the verified kind; raise when the content is not what the extension claims."""
    real = sniff(head, data if head.startswith(b"PK\x03\x04") else None)
    if claimed == "pdf" and real == "pdf":
        return "pdf"
    if claimed == "docx" and real == "docx":
        return "docx"
    if claimed in TEXT_KINDS and real == "text":
        return claimed
    if claimed == "image" and real == "image":
        return "image"
    if real == "ole" and claimed == "docx":
        raise DocumentError("legacy_doc")
    raise DocumentError("type_mismatch", claimed=claimed, real=real)
