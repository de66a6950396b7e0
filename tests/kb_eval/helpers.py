"""Test helpers for the knowledge base: services on temporary data dirs, hostile files made on the fly."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

from agent_app.knowledge.embedders import OfflineKBEmbedder
from agent_app.knowledge.service import KnowledgeService
from agent_app.knowledge.worker import ParserPool
from agent_app.settings import Settings
from tests.kb_eval.pdfgen import make_pdf, serialize


def make_service(
    data_dir: Path, pool: ParserPool | None = None, *, database_url: str | None = None, **kwargs
) -> KnowledgeService:
    settings = Settings(
        data_dir=data_dir, lang="en", tools_dirs=str(data_dir / "tools"), database_url=database_url
    )
    return KnowledgeService(settings, parsers=pool, **kwargs)


def url_of(backend: str) -> str | None:
    """The database URL of the `backend` fixture's value (None: SQLite in the data directory)."""
    return None if backend == "sqlite" else backend


def index_counts(service: KnowledgeService) -> tuple[int, int, int]:
    """(chunks, lexical index rows, vectors) as stored, on either backend."""
    conn = service.store.conn
    if service.store.backend_name == "sqlite":
        tables = ("kb_chunks", "kb_fts", "vec_kb")
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)
    has_vectors = conn.execute("SELECT to_regclass('kb_vectors') IS NOT NULL").fetchone()[0]
    return (
        conn.execute("SELECT COUNT(*) FROM kb_chunks").fetchone()[0],
        conn.execute("SELECT COUNT(*) FROM kb_chunks WHERE length(tsv) > 0").fetchone()[0],
        conn.execute("SELECT COUNT(*) FROM kb_vectors").fetchone()[0] if has_vectors else 0,
    )


class FlakyEmbedder(OfflineKBEmbedder):
    """The offline embedder that raises on batch number `fail_at` (a provider 429 halfway, B15)."""

    batch_size = 2

    def __init__(self, fail_at: int = 2) -> None:
        super().__init__()
        self.fail_at, self.calls = fail_at, 0

    def embed(self, texts):
        self.calls += 1
        if self.calls == self.fail_at:
            raise TimeoutError("429 Throttling.RateQuota")
        return super().embed(texts)


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for para in paragraphs:
        document.add_paragraph(para)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def rezip(
    data: bytes, replace: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None
) -> bytes:
    """Copy a zip, replacing or adding members (deflated)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info.filename)))
        for name, blob in (extra or {}).items():
            dst.writestr(name, blob)
    return out.getvalue()


def flate_bomb_pdf(megabytes: int = 80) -> bytes:
    """A one-page PDF whose content stream inflates to `megabytes` of spaces (above pypdf's cap)."""
    comp = zlib.compressobj(9)
    block = b" " * (1 << 20)
    data = b"".join(comp.compress(block) for _ in range(megabytes)) + comp.flush()
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>",
        4: b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data),
    }
    return serialize(objs)


def blank_pdf(pages: int = 2) -> bytes:
    """A 'scanned' PDF: pages without any text layer."""
    return make_pdf([""] * pages)


def encrypted_pdf(text: str = "机密内容") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([text]))))
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="AES-128")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
