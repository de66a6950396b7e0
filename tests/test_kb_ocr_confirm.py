"""Above the OCR page limit a document waits for the user's yes (service and Knowledge page)."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from agent_app.settings import Settings
from agent_app.ui.kb_jobs import ingest_jobs
from agent_app.ui.state import SERVICE_KEY
from agent_app.wiring import open_service
from tests.conftest import CANARY
from tests.fakes import FakeDashScope, text
from tests.test_kb_ocr import _scan

pytestmark = pytest.mark.integration
PAGES = ["第一页：退货须知。", "第二页：保修一年。", "第三页：客服电话 400-000。"]


@pytest.fixture
def fake():
    with FakeDashScope() as server:
        yield server


@pytest.fixture
def ocr_settings(data_dir, fake):
    return Settings(
        data_dir=data_dir,
        provider="offline",
        embedding_provider="offline",
        dashscope_api_key=CANARY,
        dashscope_api_base=fake.base_url,
        ocr_model="qwen-vl-ocr-latest",
        ocr_max_pages=2,
        lang="en",
        _env_file=None,
    )


@pytest.fixture
def svc(ocr_settings):
    service = open_service(ocr_settings, tools=[])
    yield service
    service.close()


def _uploads(kb) -> list[str]:
    return sorted(kb.files.names())  # on disk, or rows beside the documents (PostgreSQL)


def test_over_the_limit_waits_then_reads_every_page_once_confirmed(db_settings, fake, tmp_path):
    settings = db_settings.with_overrides(
        embedding_provider="offline",
        dashscope_api_key=CANARY,
        dashscope_api_base=fake.base_url,
        ocr_model="qwen-vl-ocr-latest",
        ocr_max_pages=2,
        lang="en",
    )
    svc = open_service(settings, tools=[])
    try:
        _wait_then_read(svc, fake, tmp_path)
    finally:
        svc.close()


def _wait_then_read(svc, fake, tmp_path) -> None:
    kb = svc.knowledge_for(svc.settings.user)
    scan = _scan(tmp_path / "manual.pdf", 3)
    [res] = kb.add_files([scan], "handbook")
    assert res.status == "needs_confirmation" and res.extra == {"ocr_pages": 3, "limit": 2}
    assert "3 pages (limit 2)" in (res.reason or "")
    assert fake.chat_requests == []  # nothing read (nor paid for) before the user's yes
    [doc] = kb.list_documents("handbook")
    assert doc["status"] == "needs_confirmation" and doc["confirm"]["pages"] == "3"
    kept = _uploads(kb)
    assert len(kept) == 1  # the upload waits with its row

    fake.push(*(text(page) for page in PAGES))
    steps = []
    done = kb.confirm_ocr("manual.pdf", "handbook", steps.append)
    assert done.status == "ready", done
    assert [r.json["model"] for r in fake.chat_requests] == ["qwen-vl-ocr-latest"] * 3
    ocr = [(s.done, s.total) for s in steps if s.stage == "ocr"]
    assert ocr == [(0, 3), (1, 3), (2, 3), (3, 3)]  # page by page
    hits = kb.search("客服电话", ["handbook"], k=3)
    assert hits[0]["page"] == 3 and "400-000" in hits[0]["text"]
    [doc] = kb.list_documents("handbook")
    assert doc["status"] == "ready" and "confirm" not in doc
    assert len(_uploads(kb)) == 1 and _uploads(kb) != kept  # the waiting copy is gone


def test_confirming_a_document_that_is_not_waiting_is_a_clear_refusal(svc, tmp_path):
    from agent_app.knowledge.errors import KnowledgeError

    kb = svc.knowledge_for(svc.settings.user)
    kb.add_files([("notes.md", b"# Notes\n\nPlain text.")], "handbook")
    with pytest.raises(KnowledgeError) as err:
        kb.confirm_ocr("notes.md", "handbook")
    assert "not waiting" in err.value.user_message("en")


def _page(svc) -> AppTest:
    def script() -> None:
        from agent_app.ui.pages import knowledge

        knowledge.page()

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state[SERVICE_KEY] = svc
    at.session_state["ui.lang"] = "en"
    return at.run()


def _shown(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "error", "success", "warning")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_the_page_asks_and_its_button_reads_the_pages_with_progress(svc, fake, tmp_path):
    kb = svc.knowledge_for(svc.settings.user)
    kb.add_files([_scan(tmp_path / "scan.pdf", 3)], "handbook")
    at = _page(svc)
    assert not at.exception
    assert "scan.pdf needs OCR of 3 pages (limit 2) — recognise anyway?" in _shown(at)
    assert not [b for b in at.button if b.key == "kb_rm_failed"]
    gate = threading.Event()
    fake.push(text(PAGES[0]))
    fake.default = lambda body: (gate.wait(30), text(PAGES[1]))[1]  # pages 2 and 3 held back
    [anyway] = [b for b in at.button if b.key.startswith("kb_ocr_")]
    anyway.click().run()
    try:
        [job] = ingest_jobs().running(kb, "handbook")
        for _ in range(100):
            if any(row[2] == "ocr" and row[3] == 1 for row in job.rows()):
                break
            threading.Event().wait(0.05)
        at.run()
        [bar] = at.get("progress")
        assert "scan.pdf · reading scanned pages 1/3" in bar.proto.text
    finally:
        gate.set()
    assert job.wait(30)
    at.run()
    assert not at.exception
    assert "scan.pdf:" in _shown(at) and "indexed" in _shown(at)
    [doc] = kb.list_documents("handbook")
    assert doc["status"] == "ready" and len(fake.chat_requests) == 3
