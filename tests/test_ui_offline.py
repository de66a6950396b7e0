"""Offline mode in the Chat page: answers in the UI's language, suggestions it can honour."""

from __future__ import annotations

import time

import pytest

from agent_app.i18n import t
from agent_app.wiring import open_service
from tests.test_ui_apptest import _app, _texts

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_offline_answers_in_the_ui_language(settings, lang):
    other = "zh" if lang == "en" else "en"
    service = open_service(settings.with_overrides(lang=other), tools=[])  # the deployment default
    at = _app(service, lang=lang)
    at.chat_input[0].set_value("hello").run()
    assert not at.exception
    user = service.settings.user
    [thread] = service.list_threads(user)
    [answer] = [m["text"] for m in service.messages(user, thread.id) if m["role"] == "assistant"]
    assert t("offline.answer", lang).split("\n")[0] in answer
    assert t("offline.answer", other).split("\n")[0] not in answer
    service.close()


def test_offline_suggestions_invite_no_tool_use(settings):
    service = open_service(settings, tools=[])
    at = _app(service, lang="en")
    labels = [b.label for b in at.button if (b.key or "").startswith("example_")]
    tool_asks = [t(k, "en") for k in ("ui.example.calc", "ui.example.time", "ui.example.units")]
    assert labels and not set(labels) & set(tool_asks)
    next(b for b in at.button if (b.key or "").startswith("example_")).click().run()
    user = service.settings.user
    [thread] = service.list_threads(user)
    said = [m["text"] for m in service.messages(user, thread.id)]
    assert said[0] == labels[0] and t("offline.answer", "en").split("\n")[0] in said[1]
    service.close()


def test_the_page_builds_the_first_turns_agent_before_any_message(settings):
    from tests.scripted_model import ScriptedChatModel

    built = []
    model = ScriptedChatModel(default="hi")
    service = open_service(
        settings.with_overrides(provider="openai", openai_base_url="http://127.0.0.1:9/v1"),
        tools=[],
        model_factory=lambda choice: built.append(choice.label) or model,
    )
    at = _app(service, lang="en")
    assert not at.exception
    deadline = time.monotonic() + 30
    while not built and time.monotonic() < deadline:  # the warm-up runs in the background
        time.sleep(0.05)
    assert built, "no agent was built while the page loaded"
    at.chat_input[0].set_value("hello").run()
    assert not at.exception and "hi" in _texts(at)  # the turn runs on it
    service.close()
