"""Ingest one document: check, store under a UUID, parse, chunk, embed, commit atomically."""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent_app.knowledge.backends import KBVectorSide, UploadFiles
from agent_app.knowledge.chunking import CHUNK_OVERLAP, CHUNK_SIZE, Chunk
from agent_app.knowledge.embedders import Embedder
from agent_app.knowledge.errors import DocumentError
from agent_app.knowledge.ocr import OcrConfirmNeeded, ReadPage, read_scans
from agent_app.knowledge.rows import KnowledgeRows
from agent_app.knowledge.sniff import EXTENSIONS, check_kind, kind_from_name
from agent_app.knowledge.worker import ParserPool, chunk_rows
from agent_app.textsafe import strip_invisible
from agent_app.vectors import EmbeddingMismatchError

MAX_NAME = 200
STAGES = ("parsing", "ocr", "chunking", "embedding", "indexed")


@dataclass(frozen=True)
class IngestProgress:
    """One progress step for a file: stage in parsing → chunking → embedding → indexed (or failed)."""

    file: str
    stage: str
    done: int = 0
    total: int = 1

    @property
    def fraction(self) -> float:
        """How far the document is, from 0 to 1, across the ingest stages."""
        step = STAGES.index(self.stage) if self.stage in STAGES else len(STAGES) - 1
        inner = self.done / self.total if self.total else 1.0
        return min(1.0, (step + (inner if self.stage != "indexed" else 1.0)) / len(STAGES))


@dataclass
class IngestResult:
    """Final state of one file: ready, unchanged (already indexed), failed, or needs_confirmation.

    needs_confirmation: more scanned pages than the OCR limit; `extra` has ocr_pages and limit.
    """

    file: str
    status: str
    chunks: int = 0
    pages: int | None = None
    code: str | None = None
    reason: str | None = None
    document_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data (for JSON and the UI)."""
        return asdict(self)


@dataclass(frozen=True)
class Limits:
    """Per-document budgets: file size, parse time and memory, chunk count."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_chunks: int = 5_000
    parse_timeout_s: float = 60.0
    allow_symlinks: bool = False
    max_ocr_pages: int = 50


Progress = Callable[[IngestProgress], None]


def display_name(raw: str) -> str:
    """A safe display-only name: last path part, no controls or bidi tricks, NFC, bounded."""
    text = strip_invisible(str(raw)).replace("\\", "/").rsplit("/", 1)[-1]
    text = unicodedata.normalize("NFC", " ".join(text.split())).strip(" .")
    if not text:
        return "unnamed"
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        text = text[: MAX_NAME - len(keep) - 1] + ("." + keep if keep else "")
    return text


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, plus supported files found under directories (sorted; symlinks not followed)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            out.append(path)
            continue
        for root, dirs, files in os.walk(path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                full = Path(root) / name
                if (
                    full.suffix.lower() in EXTENSIONS
                    and not full.is_symlink()
                    and not name.startswith(".")
                ):
                    out.append(full)
    return out


def read_upload(
    item: str | Path | tuple[str, bytes], max_bytes: int, allow_symlinks: bool = False
) -> tuple[str, bytes]:
    """(display name, content) with the empty and size checks done before reading it all.

    A path that is a symbolic link is refused unless the operator allows links: `kb add` of a link
    would index whatever it points at (/etc/passwd, another user's files).
    """
    if isinstance(item, tuple):
        name, data = display_name(item[0]), bytes(item[1])
        _check_size(len(data), max_bytes)
        return name, data
    path = Path(item)
    name = display_name(path.name)
    flags = os.O_RDONLY | (0 if allow_symlinks else getattr(os, "O_NOFOLLOW", 0))
    if not allow_symlinks and path.is_symlink():
        raise DocumentError("symlink")
    try:
        with os.fdopen(os.open(path, flags), "rb") as fh:  # no window between check and open
            _check_size(os.fstat(fh.fileno()).st_size, max_bytes)
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentError("symlink" if path.is_symlink() else "unreadable") from exc
    _check_size(len(data), max_bytes)
    return name, data


def _check_size(size: int, max_bytes: int) -> None:
    if size == 0:
        raise DocumentError("empty")
    if size > max_bytes:
        raise DocumentError(
            "too_large", size_mb=f"{size / 2**20:.1f}", limit_mb=f"{max_bytes / 2**20:g}"
        )


class Ingestor:
    """Runs the pipeline for one document; owns no state beyond its collaborators."""

    def __init__(
        self,
        store: KnowledgeRows,
        vectors: KBVectorSide,
        embedder: Embedder,
        parsers: ParserPool,
        files: UploadFiles,
        limits: Limits,
        ocr: ReadPage | None = None,
        ocr_all: bool = False,
    ) -> None:
        self.store, self.vectors, self.embedder = store, vectors, embedder
        self.parsers, self.files, self.limits = parsers, files, limits
        self.ocr = ocr
        """Reads scanned pages and images (None: such files have no text for us)."""
        self.ocr_all = ocr_all
        """The user confirmed: read every scanned page, above the per-document limit too."""

    def ingest(
        self,
        item: str | Path | tuple[str, bytes],
        collection_id: int,
        progress: Progress,
        lang: str = "zh",
    ) -> IngestResult:
        """Ready, unchanged or failed; raises nothing for a bad document."""
        raw_name = item[0] if isinstance(item, tuple) else Path(item).name
        name = display_name(raw_name)
        progress(IngestProgress(name, "parsing"))
        stored: Any = None
        digest = ""
        try:
            name, data = read_upload(item, self.limits.max_file_bytes, self.limits.allow_symlinks)
            digest = hashlib.sha256(data).hexdigest()
            # The type is checked first: the same bytes under an unsupported name are refused,
            # not reported as already indexed.
            claimed = kind_from_name(name, images=self.ocr is not None)
            kind = check_kind(claimed, data[:8192], data)
            same = self.store.find_document(collection_id, content_hash=digest)
            if same is not None:
                progress(IngestProgress(name, "indexed"))
                return IngestResult(
                    name,
                    "unchanged",
                    same["chunk_count"],
                    same["pages"],
                    document_id=same["id"],
                    extra={"same_as": same["name"]},
                )
            stored = self.files.stage(data, kind)
            del data
            return self._index(name, kind, stored.path, digest, collection_id, progress)
        except OcrConfirmNeeded as exc:  # kept (file and row) until the user decides
            if stored is not None:
                kept = self._record_pending(collection_id, name, digest, stored, kind, exc)
                stored.release(delete=not kept)
                stored = None
            progress(IngestProgress(name, "failed"))
            extra = {"ocr_pages": exc.pages, "limit": exc.limit}
            return IngestResult(name, "needs_confirmation", code=exc.code,
                                reason=exc.user_message(lang), extra=extra)  # fmt: skip
        except DocumentError as exc:
            if stored is not None:
                stored.release(delete=True)
                stored = None
            self._record_failure(collection_id, name, digest, exc)
            progress(IngestProgress(name, "failed"))
            return IngestResult(name, "failed", code=exc.code, reason=exc.user_message(lang))
        except BaseException:
            if stored is not None and not self.store.is_stored_name(stored.path.name):
                stored.release(delete=True)
            raise
        finally:
            if stored is not None:  # the commit is done: the lock goes, the file stays
                stored.release()

    def _index(
        self, name: str, kind: str, stored: Path, digest: str, cid: int, progress: Progress
    ) -> IngestResult:
        chunking = {
            "size": CHUNK_SIZE,
            "overlap": CHUNK_OVERLAP,
            "max_chunks": self.limits.max_chunks,
        }
        prepared = self.parsers.prepare(
            str(stored), kind, chunking, self.limits.parse_timeout_s,
            on_stage=lambda stage: progress(IngestProgress(name, stage)), ocr=self.ocr is not None,
        )  # fmt: skip
        pages = prepared["pages"] if isinstance(prepared["pages"], int) else None
        rows = list(prepared["chunks"])
        if prepared["scans"]:
            rows = self._read_scans(name, prepared["scans"], chunking, rows, progress)
        chunks = [_chunk_from_json(n, row) for n, row in enumerate(rows)]
        if not chunks:
            raise DocumentError("no_text")
        vectors = self._embed(name, chunks, progress)
        doc = {
            "name": name,
            "name_key": name_key(name),
            "content_hash": digest,
            "stored_name": stored.name,
            "kind": kind,
            "size": stored.stat().st_size,
            "pages": pages,
            "chunk_count": len(chunks),
            "status": "ready",
            "embedder": self.embedder.name,
        }
        doc_id, replaced, twin = self._commit(cid, doc, chunks, vectors, stored)
        if twin is not None:  # the same content was committed meanwhile (same upload, other name)
            stored.unlink(missing_ok=True)
            progress(IngestProgress(name, "indexed"))
            return IngestResult(name, "unchanged", twin["chunk_count"], twin["pages"],
                                document_id=twin["id"], extra={"same_as": twin["name"]})  # fmt: skip
        if replaced and replaced != stored.name:
            self.files.discard(replaced)
        progress(IngestProgress(name, "indexed"))
        return IngestResult(name, "ready", len(chunks), pages, document_id=doc_id)

    def _read_scans(
        self,
        name: str,
        scans: list[dict[str, Any]],
        chunking: dict[str, int],
        rows: list[dict[str, Any]],
        progress: Progress,
    ) -> list[dict[str, Any]]:
        """The text pages' chunk rows with the scanned pages' (read by the OCR model), by page."""
        sections = read_scans(
            self.ocr,
            scans,
            None if self.ocr_all else self.limits.max_ocr_pages,
            lambda done, total: progress(IngestProgress(name, "ocr", done, total)),
        )
        read = chunk_rows(sections, chunking) if sections else []
        return sorted([*rows, *read], key=lambda row: row.get("page") or 0)

    def _embed(self, name: str, chunks: list[Chunk], progress: Progress) -> np.ndarray:
        texts = [c.index_text for c in chunks]
        parts = []
        step = max(1, self.embedder.batch_size)
        for start in range(0, len(texts), step):
            progress(IngestProgress(name, "embedding", start, len(texts)))
            try:
                parts.append(self.embedder.embed(texts[start : start + step]))
            except Exception as exc:  # provider errors of every kind: nothing is written
                raise DocumentError("embed_failed", reason=type(exc).__name__) from exc
        progress(IngestProgress(name, "embedding", len(texts), len(texts)))
        return np.vstack(parts).astype(np.float32)

    def _commit(
        self,
        cid: int,
        doc: dict[str, Any],
        chunks: list[Chunk],
        vectors: np.ndarray,
        stored: Path,
    ) -> tuple[int, str | None, dict[str, Any] | None]:
        """One transaction: drop the old version, insert document, its file, chunks, index rows, vectors."""
        try:
            self.vectors.prepare(vectors.shape[1], self.embedder.name)
        except EmbeddingMismatchError as exc:
            raise DocumentError("reindex_needed", old="?", new=self.embedder.name) from exc
        with self.store.transaction() as conn:
            twin = self.store.find_document(cid, content_hash=doc["content_hash"])
            if twin is not None:
                return 0, None, twin
            old = self.store.find_document(cid, name_key=doc["name_key"])
            replaced = old.get("stored_name") if old else None
            if old is not None:
                self.vectors.delete(conn, cid, self.store.delete_document(conn, old["id"]))
            doc_id = self.store.insert_document(conn, cid, doc)
            self.files.attach(conn, doc_id, stored)
            ids = self.store.insert_chunks(conn, cid, doc_id, chunks)
            self.vectors.add(conn, ids, cid, vectors)
            self.store.set_meta(conn, "embedder", self.embedder.name)
        return doc_id, replaced, None

    def _record_failure(self, cid: int, name: str, digest: str, exc: DocumentError) -> None:
        """Keep a failed row for the list, unless a good older version is still serving."""
        self._record_row(cid, name, {"content_hash": digest or "-", "status": "failed"}, exc)

    def _record_pending(
        self, cid: int, name: str, digest: str, stored: Any, kind: str, exc: OcrConfirmNeeded
    ) -> bool:
        """Keep the upload and a row awaiting the user's OCR decision; False if an older version serves."""
        row = {
            "content_hash": digest,
            "status": "needs_confirmation",
            "stored_name": stored.path.name,
            "kind": kind,
            "size": stored.path.stat().st_size,
        }
        return self._record_row(cid, name, row, exc, stored.path)

    def _record_row(
        self, cid: int, name: str, row: dict[str, Any], exc: DocumentError, file: Path | None = None
    ) -> bool:
        """Replace a not-ready row of this name by `row` (exc: its reason, `file` kept with it).

        False, and nothing written, when a ready version of the name still serves.
        """
        key = name_key(name)
        with self.store.transaction() as conn:
            old = self.store.find_document(cid, name_key=key)
            if old is not None and old["status"] == "ready":
                return False
            if old is not None:
                self.store.delete_document(conn, old["id"])
            doc = {"name": name, "name_key": key, **row}
            doc["error"] = json.dumps(exc.to_json(), ensure_ascii=False)
            doc_id = self.store.insert_document(conn, cid, doc)
            if file is not None:
                self.files.attach(conn, doc_id, file)
        left = old.get("stored_name") if old is not None else None
        if left and left != row.get("stored_name"):  # the copy an earlier decision waited on
            self.files.discard(left)
        return True


def _chunk_from_json(ordinal: int, row: dict[str, Any]) -> Chunk:
    """A chunk from the worker's reply, with every field type-checked."""
    page, heading, seg = row.get("page"), row.get("heading"), row.get("seg")
    return Chunk(
        ordinal,
        str(row["text"]),
        page if isinstance(page, int) and not isinstance(page, bool) else None,
        heading if isinstance(heading, str) else None,
        seg if isinstance(seg, str) else None,
    )


def name_key(name: str) -> str:
    """NFC form: the same name typed in NFC or NFD is the same document."""
    return unicodedata.normalize("NFC", name)
