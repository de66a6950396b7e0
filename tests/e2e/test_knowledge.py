"""The Knowledge page in Chromium: adding files, the summary, the uploader, a document still indexing."""

from __future__ import annotations

import re

import pytest

from tests.e2e.harness import StreamlitApp

pytestmark = pytest.mark.e2e
UPLOAD = '[data-testid="stFileUploaderDropzoneInput"]'
CHOSEN = '[data-testid="stFileChip"]'
MAIN = '[data-testid="stMain"]'
PROGRESS = '[data-testid="stProgress"]'
DOCS = ".st-key-kb_docs"


@pytest.fixture(scope="module")
def app(fake, tmp_path_factory):
    """The app with DashScope embeddings through the fake, whose embedding answers a test can hold."""
    root = tmp_path_factory.mktemp("e2e-kb")
    env = {
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_API_BASE": fake.base_url,
        "DASHSCOPE_HTTP_BASE_URL": fake.http_base_url,
        "AGENT_APP_EMBEDDING_PROVIDER": "dashscope",
        "AGENT_APP_MEMORY_EXTRACT": "false",
        "AGENT_APP_LANG": "en",
    }
    server = StreamlitApp(root / "data", env, root / "streamlit.log")
    try:
        server.ready()
        yield server
    finally:
        fake.embeddings_open.set()
        server.stop()


def _md(name: str, body: str) -> dict:
    return {"name": name, "mimeType": "text/markdown", "buffer": body.encode()}


def _open_collection(page, app, name: str) -> None:
    page.goto(f"{app.url}/knowledge")
    page.get_by_role("heading", name="Knowledge base").wait_for(timeout=90_000)  # a cold server
    if page.locator(".st-key-kb_pick").count() == 0:
        page.locator('[data-testid="stPopover"] button', has_text="Create").click()
        page.locator(".st-key-kb_new_name input").fill(name)
        page.locator(".st-key-kb_create button").click()
        page.keyboard.press("Escape")
    page.locator('[data-testid="stFileUploader"]').wait_for()  # shown once a collection is open


def _add(page, *files: dict) -> None:
    page.locator(UPLOAD).set_input_files(list(files))
    page.locator(CHOSEN).nth(len(files) - 1).wait_for()
    page.locator(".st-key-kb_add button").click()


def test_added_files_show_in_a_fresh_summary_and_leave_the_uploader_empty(page, app):
    _open_collection(page, app, "handbook")
    _add(
        page,
        _md("refunds.md", "# Refunds\n\nRefunds are paid within 14 days of the request."),
        _md("hours.md", "# Hours\n\nThe office opens at nine and closes at six."),
    )
    # the first ingest of a cold server also starts the parse workers and the embedding client
    page.locator(DOCS, has_text=re.compile(r"refunds\.md · 1 chunk(?!s)")).wait_for(timeout=90_000)
    page.locator(DOCS, has_text=re.compile(r"hours\.md · 1 chunk(?!s)")).wait_for()
    page.get_by_text(re.compile(r"^2 documents · \d+ chunks$")).wait_for()
    assert "0 documents" not in page.locator(MAIN).inner_text(), page.locator(DOCS).inner_text()
    assert page.locator(CHOSEN).count() == 0  # "Add" emptied the uploader
    page.reload()
    page.get_by_text(re.compile(r"^2 documents · ")).wait_for()


def test_a_document_still_indexing_is_listed_with_progress_after_leaving(page, app, fake):
    _open_collection(page, app, "handbook")
    fake.embeddings_open.clear()
    try:
        _add(page, _md("slow.md", "# Slow\n\n" + "A long policy sentence. " * 40))
        page.locator(PROGRESS, has_text="slow.md").wait_for()
        page.get_by_role("link", name="Settings").click()
        page.get_by_text("Keys and endpoints").wait_for()
        page.get_by_role("link", name="Knowledge").click()
        page.get_by_role("heading", name="Knowledge base").wait_for()
        page.locator(PROGRESS, has_text="slow.md").wait_for()  # still indexing, with its progress
    finally:
        fake.embeddings_open.set()
    page.locator(PROGRESS).wait_for(state="detached", timeout=60_000)
    page.locator(DOCS, has_text=re.compile(r"slow\.md · \d+ chunk")).wait_for()
    page.get_by_text(re.compile(r"^3 documents · ")).wait_for()
