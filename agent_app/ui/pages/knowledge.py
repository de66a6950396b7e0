"""The Knowledge page: collections, uploads with progress, documents, a test search (KnowledgeService)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from agent_app.errors import AppError
from agent_app.knowledge.service import KnowledgeService
from agent_app.ui.blocks import md
from agent_app.ui.render import sanitize_markdown
from agent_app.ui.state import knowledge, lang, service, tr

FILE_TYPES = ["pdf", "docx", "md", "markdown", "txt", "html", "htm", "csv"]
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
            "name"
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


def _delete_collection(kb: KnowledgeService, name: str) -> None:
    try:
        kb.delete_collection(name)
        st.session_state.pop(K_COLLECTION, None)
        st.session_state.pop("kb_pick", None)
    except Exception as err:
        _fail(err)


def _collections(kb: KnowledgeService) -> str | None:
    """Pick (or create) a collection; returns the chosen name."""
    cols = kb.list_collections()
    names = [c["name"] for c in cols]
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = None
    if names:
        current = st.session_state.get(K_COLLECTION)
        chosen = left.selectbox(
            tr("ui.kb.collection"),
            names,
            key="kb_pick",
            index=names.index(current) if current in names else 0,
        )
        st.session_state[K_COLLECTION] = chosen
        info = next(c for c in cols if c["name"] == chosen)
        st.caption(tr("ui.kb.summary", documents=info["documents"], chunks=info["chunks"]))
    else:
        left.info(tr("ui.kb.no_collections"))
    with right.popover(tr("ui.kb.create"), icon=":material/add:", width="stretch"):
        st.text_input(tr("ui.kb.new_collection"), key="kb_new_name", max_chars=64)
        st.button(tr("ui.kb.create"), key="kb_create", on_click=_create, args=(kb,))
    return chosen


def _upload(kb: KnowledgeService, collection: str) -> None:
    """File uploader; each file is parsed, chunked and embedded with a progress bar."""
    round_ = st.session_state.setdefault(K_UPLOADS, 0)
    files = st.file_uploader(
        tr("ui.kb.upload"), type=FILE_TYPES, accept_multiple_files=True, key=f"kb_files_{round_}"
    )
    if not files or not st.button(
        tr("ui.kb.add"), key="kb_add", type="primary", icon=":material/upload:"
    ):
        return
    bar = st.progress(0.0)
    results = []
    for n, upload in enumerate(files):

        def report(step: Any, n: int = n) -> None:
            bar.progress(
                min(1.0, (n + step.fraction) / len(files)), text=sanitize_markdown(step.file)
            )

        try:
            results += kb.add_files(
                [(upload.name, upload.getvalue())], collection, report, lang=lang(service())
            )
        except Exception as err:
            _fail(err)
    bar.empty()
    for res in results:
        if res.status == "failed":
            st.error(
                tr("ui.kb.failed", name=res.file, reason=res.reason or ""), icon=":material/error:"
            )
        elif res.status == "unchanged":
            st.info(tr("ui.kb.unchanged", name=res.file))
        else:
            st.success(tr("ui.kb.added", name=res.file, chunks=res.chunks))
    st.session_state[K_UPLOADS] = round_ + 1


def _documents(kb: KnowledgeService, collection: str) -> None:
    st.subheader(tr("ui.kb.documents"), anchor=False)
    docs = kb.list_documents(collection, lang=lang(service()))
    if not docs:
        st.caption(tr("ui.kb.no_documents"))
    for doc in docs:
        name, right = st.columns([5, 1], vertical_alignment="center")
        with name:
            icon = ":material/check_circle:" if doc["status"] == "ready" else ":material/error:"
            st.markdown(
                f"{icon} **{sanitize_markdown(doc['name'])}** · {doc.get('chunk_count') or 0}"
            )
            if doc.get("error"):
                st.caption(sanitize_markdown(doc["error"]))
        right.button(
            tr("ui.kb.remove"),
            key=f"kb_rm_{doc['id']}",
            icon=":material/delete:",
            type="tertiary",
            on_click=_remove,
            args=(kb, doc["name"], collection),
        )


def _search(kb: KnowledgeService, collection: str) -> None:
    query = st.text_input(tr("ui.kb.search"), key="kb_query", icon=":material/search:")
    if not query:
        return
    hits = kb.search(query, [collection], k=5)
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
    collection = _collections(kb)
    if collection is None:
        return
    _upload(kb, collection)
    _documents(kb, collection)
    _search(kb, collection)
    with st.expander(tr("ui.kb.delete_collection"), icon=":material/delete_forever:"):
        st.warning(tr("ui.kb.delete_confirm"))
        st.button(
            tr("ui.kb.delete_collection"),
            key="kb_drop",
            type="primary",
            on_click=_delete_collection,
            args=(kb, collection),
        )
