"""The Settings page under AppTest in both languages: nothing left in English in the Chinese UI."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from agent_app.ui.state import SERVICE_KEY
from agent_app.wiring import open_service

pytestmark = pytest.mark.integration


def _settings_page(svc, lang: str) -> str:
    def script() -> None:
        from agent_app.ui.pages import settings

        settings.page()

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state[SERVICE_KEY] = svc
    at.session_state["ui.lang"] = lang
    at.run()
    assert not at.exception
    kinds = ("markdown", "caption", "info")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


@pytest.fixture
def svc(settings):
    service = open_service(settings, include_mcp=False)  # the built-ins and the shipped tools/
    yield service
    service.close()


def test_the_chinese_settings_page_has_no_english_left(svc):
    shown = _settings_page(svc, "zh")
    assert "calculator" in shown and "内置" in shown and "（未设置）" in shown
    assert "安全地计算算术表达式" in shown
    for english in ("builtin", "(not set)", "Evaluate an arithmetic", "Get the current date"):
        assert english not in shown, english
    assert not re.search(r"\bask\b", shown), shown


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_keys_table_has_a_header(svc, lang):
    shown = _settings_page(svc, lang)
    lines = shown.splitlines()
    header = lines[lines.index("|---|---|") - 1]
    assert [cell.strip() for cell in header.strip("|").split("|") if not cell.strip()] == [], header
