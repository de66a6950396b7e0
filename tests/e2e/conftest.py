"""Module-scoped fixtures: one FakeDashScope, one Streamlit server, one Chromium per test module."""

from __future__ import annotations

import os

import pytest

from tests.e2e.harness import TOOLS_DIR, StreamlitApp, chromium_missing, launch_browser
from tests.fakes import FakeDashScope


@pytest.fixture(scope="module")
def fake():
    with FakeDashScope() as server:
        yield server


@pytest.fixture(scope="module")
def app(fake, tmp_path_factory):
    """The real app (`streamlit run`) against the DashScope fake, with a slow test tool added."""
    root = tmp_path_factory.mktemp("e2e")
    env = {
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_API_BASE": fake.base_url,
        "AGENT_APP_TOOLS_DIRS": os.pathsep.join(["tools", str(TOOLS_DIR)]),
        "AGENT_APP_MAX_RETRIES": "0",
        "AGENT_APP_MEMORY_EXTRACT": "false",
        "AGENT_APP_TITLE_MODEL": "false",  # pushed replies are for the turns
    }
    server = StreamlitApp(root / "data", env, root / "streamlit.log")
    try:
        server.ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    reason = chromium_missing()
    if reason:
        pytest.fail(reason)  # never a silent skip: the browser tests are part of `make test`
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch_browser(pw)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser, app, request, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    if request.node.stash.get(_FAILED, False):  # what the browser showed, for the failure report
        shot = tmp_path / "failure.png"
        tab.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}\nserver log:\n{app.log_tail()}")
    context.close()
