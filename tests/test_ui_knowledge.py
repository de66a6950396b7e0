"""The Knowledge page under AppTest: counted phrases, failed rows removed at once, a job still indexing."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from agent_app.ui.kb_jobs import ingest_jobs
from agent_app.ui.state import SERVICE_KEY
from agent_app.wiring import open_service

pytestmark = pytest.mark.integration


def _page(svc, lang: str) -> AppTest:
    def script() -> None:
        from agent_app.ui.pages import knowledge

        knowledge.page()

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state[SERVICE_KEY] = svc
    at.session_state["ui.lang"] = lang
    at.session_state["kb_collection"] = "handbook"
    return at.run()


def _shown(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "error", "success")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


@pytest.fixture
def svc(settings):
    service = open_service(settings, tools=[])
    yield service
    service.close()


def _kb(svc):
    return svc.knowledge_for(svc.settings.user)


@pytest.mark.parametrize(
    ("lang", "one", "two"),
    [
        ("en", "1 document · 1 chunk", "2 documents · 2 chunks"),
        ("zh", "1 个文档 · 1 个片段", "2 个文档 · 2 个片段"),
    ],
)
def test_counts_read_as_words_in_both_languages(svc, lang, one, two):
    kb = _kb(svc)
    [res] = kb.add_files([("a.md", b"# A\n\nOne short paragraph.")], "handbook")
    assert res.status == "ready" and res.chunks == 1
    at = _page(svc, lang)
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert one in captions, captions
    assert "1 chunks" not in _shown(at) and ("1 chunk" in _shown(at) or "1 个片段" in _shown(at))
    kb.add_files([("b.md", b"# B\n\nAnother short paragraph.")], "handbook")
    at.run()
    assert two in [c.value for c in at.caption]


def test_failed_rows_are_removed_at_once_and_ready_ones_stay(svc):
    kb = _kb(svc)
    results = kb.add_files(
        [("good.md", b"# Good\n\nKept."), ("empty.txt", b""), ("old.doc", b"\xd0\xcf\x11\xe0" * 8)],
        "handbook",
    )
    assert [r.status for r in results] == ["ready", "failed", "failed"]
    at = _page(svc, "en")
    remove_all = next(b for b in at.button if b.key == "kb_rm_failed")
    assert "2" in remove_all.label
    remove_all.click().run()
    assert not at.exception
    assert [d["name"] for d in kb.list_documents("handbook")] == ["good.md"]
    assert "Removed 2 failed documents." in _shown(at)
    assert not [b for b in at.button if b.key == "kb_rm_failed"]


def test_a_job_still_indexing_is_listed_with_progress_then_its_result(svc, monkeypatch):
    kb = _kb(svc)
    kb.create_collection("handbook")
    gate = threading.Event()
    real_embed = kb.embedder.embed

    def held(texts):
        gate.wait(30)
        return real_embed(texts)

    monkeypatch.setattr(kb.embedder, "embed", held)
    job = ingest_jobs().start(kb, "handbook", [("slow.md", b"# Slow\n\nHeld back.")], "en")
    try:
        at = _page(svc, "en")  # a fresh page run, as after navigating away and back
        assert not at.exception
        [bar] = [e for e in at.get("progress")]
        assert "slow.md" in bar.proto.text
    finally:
        gate.set()
    assert job.wait(30)
    at.run()
    assert "slow.md: 1 chunk indexed" in _shown(at)
    assert "1 document · 1 chunk" in [c.value for c in at.caption]
    assert not at.get("progress")
