"""KnowledgeService: the one façade the UI, the CLI and the agent tool use for the knowledge base."""

from __future__ import annotations

import copy
import logging
import os
import queue
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from agent_app.errors import StorageError
from agent_app.knowledge import sharing
from agent_app.knowledge.backends import open_storage
from agent_app.knowledge.context import expand_hits
from agent_app.knowledge.embedders import Embedder, make_embedder
from agent_app.knowledge.errors import DocumentError, KnowledgeError, stored_params, stored_reason
from agent_app.knowledge.ingest import (
    Ingestor,
    IngestProgress,
    IngestResult,
    Limits,
    display_name,
    name_key,
)
from agent_app.knowledge.ocr import model_reader
from agent_app.knowledge.rerank import make_reranker
from agent_app.knowledge.search import HybridSearcher
from agent_app.knowledge.worker import ParserPool
from agent_app.settings import Settings
from agent_app.textsafe import strip_invisible
from agent_app.userid import check_user_id

log = logging.getLogger(__name__)
Upload = str | Path | tuple[str, bytes]
MAX_COLLECTION_NAME = 64


class KnowledgeService:
    """Collections of documents with hybrid search; every call is scoped to one user."""

    def __init__(
        self,
        settings: Settings,
        *,
        user: str | None = None,
        embedder: Embedder | None = None,
        limits: Limits | None = None,
        parsers: ParserPool | None = None,
    ) -> None:
        self.settings = settings
        self.user = check_user_id(user or settings.user)
        self.root = Path(settings.data_dir) / "knowledge"
        self.upload_root = self.root / "uploads"
        _refuse_tools_dir(self.upload_root, settings.tools_dirs)
        self.store, self.vectors, self.files = open_storage(settings, self.root)
        self.limits = limits or Limits(
            max_file_bytes=int(getattr(settings, "kb_max_file_mb", 20) * 1024 * 1024),
            allow_symlinks=bool(getattr(settings, "kb_allow_symlinks", False)),
            max_ocr_pages=int(getattr(settings, "ocr_max_pages", 50)),
        )
        self.files.sweep(self.store.all_stored_names)
        # Shared (by reference) with the for_user() views of this service.
        self._shared: dict[str, Any] = {
            "embedder": embedder,
            "parsers": parsers,
            "own_parsers": parsers is None,
        }
        self._lock = threading.Lock()
        self.reranker = make_reranker(settings)

    def for_user(self, user: str) -> KnowledgeService:
        """The same knowledge base seen as another user (shares connections, index and workers)."""
        view = copy.copy(self)
        view.user = check_user_id(user)
        return view

    # -- wiring (lazy: nothing heavy at construction) ------------------------------------------
    @property
    def embedder(self) -> Embedder:
        """The embedder, created on first use and shared with the per-user views."""
        with self._lock:
            if self._shared["embedder"] is None:
                self._shared["embedder"] = make_embedder(self.settings)
            return self._shared["embedder"]  # type: ignore[no-any-return]

    @property
    def parsers(self) -> ParserPool:
        """The parse worker pool, started on first use and shared with the per-user views."""
        with self._lock:
            if self._shared["parsers"] is None:
                self._shared["parsers"] = pool = ParserPool(size=2)
                pool.start()
            return self._shared["parsers"]  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the parse workers (if ours), the vector index and this thread's connection."""
        if self._shared["parsers"] is not None and self._shared["own_parsers"]:
            self._shared["parsers"].close()
        self.vectors.close()
        self.store.close()

    # -- collections ------------------------------------------------------------------------
    def create_collection(self, name: str) -> dict[str, Any]:
        """Create (or return) a collection of this user's."""
        clean = collection_name(name)
        self.store.ensure_collection(self.user, clean)
        return next(c for c in self.list_collections() if c["name"] == clean and not c["read_only"])

    def list_collections(self) -> list[dict[str, Any]]:
        """What this user may read: own collections by name, then those shared with them.

        Each is {id, name, created_at, documents, chunks, owner, read_only, shared_with}.
        """
        return sharing.readable(self.store.conn, self.user)

    def readable(self, collections: Sequence[str | int] | None = None) -> list[dict[str, Any]]:
        """The collections this user may read right now, optionally only these names or ids."""
        cols = self.list_collections()
        if collections is None:
            return cols
        names = {collection_name(c) for c in collections if isinstance(c, str)}
        ids = {c for c in collections if isinstance(c, int)}
        return [c for c in cols if c["name"] in names or c["id"] in ids]

    def delete_collection(self, name: str) -> None:
        """Delete a collection with all its documents, chunks and vectors."""
        cid = self._collection_id(name)
        files = self.store.stored_names(cid)
        with self.store.transaction() as conn:
            self.store.delete_collection(conn, cid)
            self.vectors.delete(conn, cid)
        for stored in files:
            self.files.discard(stored)

    def _collection_id(self, name: str) -> int:
        """The id of this user's own collection (the only kind they may change)."""
        clean = collection_name(name)
        cid = self.store.collection_id(self.user, clean)
        if cid is None:
            self._refuse_if_shared(clean)
            raise KnowledgeError("collection_not_found", name=clean)
        return cid

    def _refuse_if_shared(self, clean: str) -> None:
        """A collection another user shares with this one may be read, never changed."""
        shared = next((c for c in self.readable([clean]) if c["read_only"]), None)
        if shared is not None:
            raise KnowledgeError("read_only", name=clean, owner=shared["owner"])

    # -- sharing ------------------------------------------------------------------------------
    def share(self, name: str, users: Sequence[str] = (), *, everyone: bool = False) -> list[str]:
        """Let these user ids (or everyone) read this user's collection; returns its grantees."""
        cid = self._collection_id(name)
        wanted = [check_user_id(u) for u in users if u != self.user]
        with self.store.transaction() as conn:
            sharing.grant(
                conn, cid, [*wanted, *([sharing.EVERYONE] if everyone else [])], self.user
            )
        return sharing.grantees(self.store.conn, [cid]).get(cid, [])

    def unshare(
        self, name: str, users: Sequence[str] | None = None, *, everyone: bool = False
    ) -> list[str]:
        """Stop sharing with these users / everyone (nothing named: with all); returns who is left."""
        cid = self._collection_id(name)
        named = [*(users or ()), *([sharing.EVERYONE] if everyone else [])]
        with self.store.transaction() as conn:
            sharing.revoke(conn, cid, named or None)
        return sharing.grantees(self.store.conn, [cid]).get(cid, [])

    def shared_collections(self) -> list[dict[str, Any]]:
        """Every owner's shared collections with their grantees (for admins: the caller checks)."""
        return sharing.shared_collections(self.store.conn)

    def all_collections(self) -> list[dict[str, Any]]:
        """Every owner's collections (for admins: the caller checks)."""
        return sharing.all_collections(self.store.conn)

    # -- documents ----------------------------------------------------------------------------
    def add_files(
        self,
        items: Iterable[Upload],
        collection: str,
        progress: Callable[[IngestProgress], None] | None = None,
        *,
        lang: str | None = None,
        ocr_all: bool = False,
    ) -> list[IngestResult]:
        """Ingest paths or (name, bytes) uploads, in order of the results; one bad file never stops the others.

        Files are processed by as many threads as there are parse workers; `progress` is always
        called on the calling thread (Streamlit widgets may only be updated from there).
        `ocr_all`: the user agreed to OCR above the page limit (else such a file is kept as
        needs_confirmation, see `confirm_ocr`).
        """
        lang = lang or self.settings.lang
        clean = collection_name(collection)
        if self.store.collection_id(self.user, clean) is None:
            self._refuse_if_shared(clean)  # adding to someone else's handbook: read-only
        cid = self.store.ensure_collection(self.user, clean)
        report = progress or (lambda _event: None)
        self._check_embedder()
        ingestor = Ingestor(
            self.store,
            self.vectors,
            self.embedder,
            self.parsers,
            self.files,
            self.limits,
            ocr=model_reader(self.settings),
            ocr_all=ocr_all,
        )
        uploads = list(items)
        events: queue.SimpleQueue[IngestProgress] = queue.SimpleQueue()

        def one(item: Upload) -> IngestResult:
            try:
                return ingestor.ingest(item, cid, events.put, lang)
            except Exception:  # storage trouble for this file: log it, carry on with the next
                log.exception("knowledge ingest failed")
                name = display_name(item[0] if isinstance(item, tuple) else Path(item).name)
                return IngestResult(
                    name, "failed", code="storage", reason=StorageError().user_message(lang)
                )

        with ThreadPoolExecutor(max_workers=max(1, min(self.parsers.size, len(uploads)))) as pool:
            futures = [pool.submit(one, item) for item in uploads]
            pending = set(futures)
            while pending:
                _, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                _drain(events, report)
        _drain(events, report)
        return [future.result() for future in futures]

    def confirm_ocr(
        self,
        source: str,
        collection: str,
        progress: Callable[[IngestProgress], None] | None = None,
        *,
        lang: str | None = None,
    ) -> IngestResult:
        """Read every scanned page of a document kept as needs_confirmation (the user said yes)."""
        doc = self._document(source, collection)
        stored = doc.get("stored_name")
        if doc["status"] != "needs_confirmation" or not stored:
            raise KnowledgeError("nothing_to_confirm", name=doc["name"])
        data = self.files.read(stored)
        if data is None:
            raise KnowledgeError("nothing_to_confirm", name=doc["name"])
        return self.add_files([(doc["name"], data)], collection, progress, lang=lang, ocr_all=True)[
            0
        ]

    @property
    def reads_images(self) -> bool:
        """Whether scanned pages and PNG/JPEG uploads can be read (an OCR model is configured)."""
        return bool(getattr(self.settings, "ocr_model", ""))

    def list_documents(
        self, collection: str | int | None = None, *, lang: str | None = None
    ) -> list[dict[str, Any]]:
        """Documents (ready and failed) of the collections this user may read, with status and error."""
        cols = self.readable(None if collection is None else [collection])
        names = {c["id"]: c["name"] for c in cols}
        owners = {c["id"]: c["owner"] for c in cols}
        docs = self.store.list_documents(names)  # the readable ids only: the last check
        for doc in docs:
            doc["owner"] = owners[doc["collection_id"]]
            doc["collection"] = names[doc.pop("collection_id")]
            stored = doc.pop("error")
            doc["error"] = stored_reason(stored, lang or self.settings.lang)
            if doc["status"] == "needs_confirmation":
                doc["confirm"] = stored_params(stored)
        return docs

    def preview_chunks(
        self, source: str, collection: str | int, limit: int = 20
    ) -> list[dict[str, Any]]:
        """The first chunks of one document of a collection this user may read, in order."""
        key = name_key(strip_invisible(source).strip())
        for col in self.readable([collection]):
            doc = self.store.find_document(col["id"], name_key=key)
            if doc is not None:
                return self.store.document_chunks(doc["id"], limit)
        raise KnowledgeError("not_found", name=strip_invisible(source)[:200])

    def remove(self, source: str, collection: str) -> dict[str, Any]:
        """Delete a document (rows, FTS entries, vectors and stored file); returns what was removed."""
        doc = self._document(source, collection)
        with self.store.transaction() as conn:
            self.vectors.delete(
                conn, doc["collection_id"], self.store.delete_document(conn, doc["id"])
            )
        if doc.get("stored_name"):
            self.files.discard(doc["stored_name"])
        return {"source": doc["name"], "chunks": doc["chunk_count"]}

    def _document(self, source: str, collection: str) -> dict[str, Any]:
        cid = self._collection_id(collection)
        doc = self.store.find_document(cid, name_key=name_key(strip_invisible(source).strip()))
        if doc is None:
            raise KnowledgeError("not_found", name=strip_invisible(source)[:200])
        return doc

    # -- search -------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        collections: Sequence[str | int] | None = None,
        k: int = 5,
        *,
        expand: bool = False,
    ) -> list[dict[str, Any]]:
        """Hybrid hits, best first: {text, source, page, heading, collection, chunk_id, score}.

        Over the collections this user may read now (own and shared); the searcher keeps only
        chunks of exactly those ids, whatever the indexes returned. `expand` adds the neighbouring
        chunks' text to hits cut mid-sentence (knowledge.context).
        """
        with self.store.reading():
            return self._search(query, collections, k, expand)

    def _search(
        self, query: str, collections: Sequence[str | int] | None, k: int, expand: bool
    ) -> list[dict[str, Any]]:
        cols = self.readable(collections)
        searcher = HybridSearcher(self.store, self.vectors, self.embedder, reranker=self.reranker)
        # A hint only: searching everything there is may skip the BM25 collection filter (it costs
        # as much as the ranking); the searcher still drops and re-queries on any foreign hit.
        covers_all = sum(c["chunks"] for c in cols) == self.store.chunk_count()
        ids = [c["id"] for c in cols]
        hits = searcher.search(
            query, ids, k, use_vectors=not self.needs_reindex(), covers_all=covers_all
        )
        return expand_hits(self.store, hits, ids) if expand else hits

    # -- embedder changes ---------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Which embedder is configured, which one built the stored vectors, and whether they differ."""
        return {
            "embedder": self.embedder.name,
            "indexed_with": self.store.get_meta("embedder"),
            "needs_reindex": self.needs_reindex(),
        }

    def needs_reindex(self) -> bool:
        """Whether stored chunks were embedded by another embedder than the configured one."""
        indexed = self.store.get_meta("embedder")
        return bool(indexed) and indexed != self.embedder.name and self.store.has_chunks()

    def _check_embedder(self) -> None:
        if self.needs_reindex():
            raise KnowledgeError(
                "reindex_needed", old=self.store.get_meta("embedder"), new=self.embedder.name
            )

    def reindex(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Re-embed every stored chunk with the current embedder (no re-parsing); returns the count."""
        from agent_app.knowledge.reindex import reindex_all

        return reindex_all(self.store, self.vectors, self.embedder, progress)


def _drain(
    events: queue.SimpleQueue[IngestProgress], report: Callable[[IngestProgress], None]
) -> None:
    while True:
        try:
            report(events.get_nowait())
        except queue.Empty:
            return


def collection_name(name: str) -> str:
    """Validated collection name: NFC, no invisible or control characters, 1–64 characters."""
    clean = unicodedata.normalize("NFC", " ".join(strip_invisible(str(name)).split()))
    if not clean or len(clean) > MAX_COLLECTION_NAME:
        raise KnowledgeError("invalid_collection")
    return clean


def _refuse_tools_dir(upload_root: Path, tools_dirs: str) -> None:
    """Uploads must never land where tools are loaded from (an upload would become code)."""
    root = os.path.realpath(upload_root)
    for entry in filter(None, tools_dirs.split(os.pathsep)):
        tools = os.path.realpath(entry)
        if root == tools or root.startswith(tools + os.sep):
            raise StorageError("upload root inside a tools directory")


__all__ = ["DocumentError", "KnowledgeError", "KnowledgeService", "collection_name"]
