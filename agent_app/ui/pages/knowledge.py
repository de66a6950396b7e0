"""The Knowledge page: collections, uploads with progress, documents, a test search (KnowledgeService)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent_app.errors import AppError
from agent_app.knowledge.service import KnowledgeService
from agent_app.ui.blocks import md
from agent_app.ui.kb_jobs import ingest_jobs
from agent_app.ui.kb_sharing import share_box, user_names
from agent_app.ui.render import sanitize_markdown
from agent_app.ui.state import knowledge, lang, service, tn, tr

FILE_TYPES = ["pdf", "docx", "md", "markdown", "txt", "html", "htm", "csv"]
IMAGE_TYPES = ["png", "jpg", "jpeg"]
"""Read by the text-recognition model, when one is configured."""
K_COLLECTION, K_UPLOADS = "kb_collection", "kb_uploads"


def _fail(err: Exception) -> None:
    msg = (
        err.user_message(st.session_state.get("ui.lang"))
        if isinstance(err, AppError)
        else tr("error.internal")
    )
    st.session_state["kb_flash"] = ("error", msg)


def _create(kb: KnowledgeService) -> None:
    name = st.session_state.get("kb_new_name", "").strip()
    try:
        st.session_state[K_COLLECTION] = st.session_state["kb_pick"] = kb.create_collection(name)[
            "id"
        ]
        st.session_state["kb_new_name"] = ""
    except Exception as err:  # invalid name, storage trouble: a clear message, never a traceback
        _fail(err)


def _remove(kb: KnowledgeService, source: str, collection: str) -> None:
    try:
        kb.remove(source, collection)
        st.session_state["kb_flash"] = ("success", tr("ui.kb.removed", name=source))
    except Exception as err:
        _fail(err)


def _remove_failed(kb: KnowledgeService, sources: list[str], collection: str) -> None:
    """Remove every failed row at once (each would otherwise need its own click)."""
    try:
        for source in sources:
            kb.remove(source, collection)
        st.session_state["kb_flash"] = ("success", tn("ui.kb.removed_failed", len(sources)))
    except Exception as err:
        _fail(err)


def _delete_collection(kb: KnowledgeService, name: str) -> None:
    try:
        kb.delete_collection(name)
        st.session_state.pop(K_COLLECTION, None)
        st.session_state.pop("kb_pick", None)
    except Exception as err:
        _fail(err)


def _summary(documents: int, chunks: int) -> str:
    return f"{tn('ui.kb.n_documents', documents)} · {tn('ui.kb.n_chunks', chunks)}"


def _collections(svc: Any, kb: KnowledgeService) -> dict[str, Any] | None:
    """Pick (or create) a collection, own or shared with this user; returns the chosen one."""
    cols = {c["id"]: c for c in kb.list_collections()}  # asked each run: unsharing shows at once
    names = user_names(svc)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = None
    if cols:
        current = st.session_state.get(K_COLLECTION)
        ids = list(cols)
        picked = left.selectbox(
            tr("ui.kb.collection"),
            ids,
            key="kb_pick",
            index=ids.index(current) if current in ids else 0,
            format_func=lambda cid: _label(cols[cid], names),
        )
        st.session_state[K_COLLECTION] = picked
        chosen = cols[picked]
        st.caption(_summary(chosen["documents"], chosen["chunks"]))
        if chosen["read_only"]:
            st.caption(tr("ui.kb.shared_by", owner=names.get(chosen["owner"], chosen["owner"])))
    else:
        left.info(tr("ui.kb.no_collections"))
    with right.popover(tr("ui.kb.create"), icon=":material/add:", width="stretch"):
        st.text_input(tr("ui.kb.new_collection"), key="kb_new_name", max_chars=64)
        st.button(tr("ui.kb.create"), key="kb_create", on_click=_create, args=(kb,))
    if chosen is not None and not chosen["read_only"]:
        share_box(svc, kb, chosen, right)
    return chosen


def _label(col: dict[str, Any], names: dict[str, str]) -> str:
    if not col["read_only"]:
        return str(col["name"])
    return tr("ui.kb.pick_shared", name=col["name"], owner=names.get(col["owner"], col["owner"]))


def _start(kb: KnowledgeService, collection: str, key: str) -> None:
    """The "Add" click: hand the chosen files to a background job and empty the uploader."""
    files = [(f.name, f.getvalue()) for f in st.session_state.get(key) or []]
    if files:
        ingest_jobs().start(kb, collection, files, lang(service()))
    st.session_state[K_UPLOADS] = st.session_state.get(K_UPLOADS, 0) + 1  # a new, empty uploader


def _confirm_ocr(kb: KnowledgeService, source: str, collection: str) -> None:
    """The "Recognise anyway" click: read every scanned page of a document waiting above the limit."""
    ingest_jobs().start(kb, collection, [(source, b"")], lang(service()), confirm_ocr=True)


def _upload(kb: KnowledgeService, collection: str) -> None:
    """File uploader and the "Add" button; the files are ingested in the background."""
    key = f"kb_files_{st.session_state.setdefault(K_UPLOADS, 0)}"
    types = FILE_TYPES + (IMAGE_TYPES if kb.reads_images else [])
    files = st.file_uploader(tr("ui.kb.upload"), type=types, accept_multiple_files=True, key=key)
    if files:
        st.button(
            tr("ui.kb.add"),
            key="kb_add",
            type="primary",
            icon=":material/upload:",
            on_click=_start,
            args=(kb, collection, key),
        )


def _results(kb: KnowledgeService) -> None:
    """What the finished ingest jobs did, shown once (also after navigating away and back)."""
    for job in ingest_jobs().take_finished(kb):
        if job.error:
            st.error(job.error, icon=":material/error:")
        for res in job.results:
            if res.status == "needs_confirmation":
                st.warning(_question(res.file, res.extra), icon=":material/document_scanner:")
            elif res.status == "failed":
                st.error(
                    tr("ui.kb.failed", name=res.file, reason=res.reason or ""),
                    icon=":material/error:",
                )
            elif res.status == "unchanged":
                st.info(tr("ui.kb.unchanged", name=res.file))
            else:
                st.success(tn("ui.kb.added", res.chunks, name=res.file))


@st.fragment(run_every=0.5)
def _indexing(kb: KnowledgeService, collection: str) -> None:
    """Files still being ingested into this collection, with their progress; reruns the page when done."""
    jobs = ingest_jobs().running(kb, collection)
    if not jobs:
        st.rerun()  # the whole page: fresh summary, documents and results
    with st.container(key="kb_indexing"):
        for job in jobs:
            for name, fraction, stage, done, total in job.rows():
                label = tr(f"ui.kb.stage.{stage}")
                if stage == "ocr":  # page by page: each page is a model call
                    label = tr("ui.kb.ocr_pages", stage=label, done=done, total=total)
                st.progress(fraction, text=f"{sanitize_markdown(name)} · {label}")


def _document_row(
    kb: KnowledgeService, doc: dict[str, Any], collection: str, read_only: bool
) -> None:
    name, right = st.columns([5, 1], vertical_alignment="center")
    with name:
        icon = ":material/check_circle:" if doc["status"] == "ready" else ":material/error:"
        chunks = tn("ui.kb.n_chunks", int(doc.get("chunk_count") or 0))
        label = chunks if doc["status"] == "ready" else tr("ui.kb.status_failed")
        if "confirm" in doc:
            icon, label = ":material/document_scanner:", tr("ui.kb.status_confirm")
        st.markdown(f"{icon} **{sanitize_markdown(doc['name'])}** · {label}")
        if "confirm" in doc:
            st.caption(_question(doc["name"], doc["confirm"]))
        elif doc.get("error"):
            st.caption(sanitize_markdown(doc["error"]))
    if read_only:  # shared with this user: read, never change
        return
    if "confirm" in doc:
        name.button(
            tr("ui.kb.ocr_anyway"),
            key=f"kb_ocr_{doc['id']}",
            icon=":material/document_scanner:",
            on_click=_confirm_ocr,
            args=(kb, doc["name"], collection),
        )
    right.button(
        tr("ui.kb.remove"),
        key=f"kb_rm_{doc['id']}",
        icon=":material/delete:",
        type="tertiary",
        on_click=_remove,
        args=(kb, doc["name"], collection),
    )


def _question(name: str, params: dict[str, Any]) -> str:
    """The question for a document waiting above the OCR limit: N pages (limit M), read anyway?"""
    pages, limit = params.get("ocr_pages", params.get("pages", "?")), params.get("limit", "?")
    return tr("ui.kb.ocr_question", name=sanitize_markdown(name), pages=pages, limit=limit)


def _documents(kb: KnowledgeService, col: dict[str, Any]) -> None:
    st.subheader(tr("ui.kb.documents"), anchor=False)
    collection, read_only = str(col["name"]), bool(col["read_only"])
    if not read_only and ingest_jobs().running(kb, collection):
        _indexing(kb, collection)
    docs = kb.list_documents(int(col["id"]), lang=lang(service()))
    failed = [d["name"] for d in docs if d["status"] not in ("ready", "needs_confirmation")]
    if len(failed) > 1 and not read_only:
        st.button(
            tn("ui.kb.remove_failed", len(failed)),
            key="kb_rm_failed",
            icon=":material/delete_sweep:",
            on_click=_remove_failed,
            args=(kb, failed, collection),
        )
    if not docs:
        st.caption(tr("ui.kb.no_documents"))
    with st.container(key="kb_docs"):
        for doc in docs:
            _document_row(kb, doc, collection, read_only)


def _search(kb: KnowledgeService, col: dict[str, Any]) -> None:
    query = st.text_input(tr("ui.kb.search"), key="kb_query", icon=":material/search:")
    if not query:
        return
    hits = kb.search(query, [int(col["id"])], k=5)
    if not hits:
        st.caption(tr("ui.kb.no_hits"))
    for hit in hits:
        with st.container(border=True):
            page = tr("ui.page", page=hit["page"]) if hit.get("page") not in (None, "") else ""
            st.caption(
                f"{sanitize_markdown(str(hit['source']))} {page} · {float(hit['score']):.3f}"
            )
            md(str(hit["text"])[:800])


def _embedder(kb: KnowledgeService) -> None:
    """The embedder in use; after a change, why search is keyword-only and the one-click fix."""
    status = kb.status()
    st.caption(tr("ui.kb.embedder", name=status["embedder"]))
    if status["needs_reindex"]:
        st.warning(tr("ui.kb.reindex_needed", old=status["indexed_with"], new=status["embedder"]))
        st.button(tr("ui.kb.reindex"), key="kb_reindex", on_click=_reindex, args=(kb,))


def _reindex(kb: KnowledgeService) -> None:
    try:
        count = kb.reindex()
    except Exception as err:  # the provider failed: nothing was switched, keywords still serve
        _fail(err)
        return
    st.session_state["kb_flash"] = ("success", tr("ui.kb.reindexed", count=count))


def page() -> None:
    """Render the Knowledge page."""
    svc = service()
    st.title(tr("ui.kb.title"), anchor=False)
    st.caption(tr("ui.kb.intro"))
    kb = knowledge(svc)
    if kb is None:
        st.info(tr("ui.kb.unavailable"), icon=":material/construction:")
        return
    flash = st.session_state.pop("kb_flash", None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])
    _embedder(kb)
    collection = _collections(svc, kb)
    if collection is None:
        return
    if not collection["read_only"]:
        _upload(kb, collection["name"])
    _results(kb)
    _documents(kb, collection)
    _search(kb, collection)
    if collection["read_only"]:
        return
    with st.expander(tr("ui.kb.delete_collection"), icon=":material/delete_forever:"):
        st.warning(tr("ui.kb.delete_confirm"))
        st.button(
            tr("ui.kb.delete_collection"),
            key="kb_drop",
            type="primary",
            on_click=_delete_collection,
            args=(kb, collection["name"]),
        )
