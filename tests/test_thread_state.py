"""A conversation's stored state stays readable when its model cannot be built any more."""

from __future__ import annotations

import pytest

from agent_app import events as ev
from agent_app.wiring import open_service
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer

pytestmark = pytest.mark.integration


def test_history_shows_after_the_threads_provider_lost_its_configuration(settings):
    svc = scripted_service(settings, ScriptedChatModel(script=[answer("stored answer")]))
    thread = svc.new_thread("u", options={"provider": "openai"}).id
    assert isinstance(collect(svc.stream(thread, "question", user_id="u")).events[-1], ev.Done)
    svc.close()
    # The same data directory, now without the OpenAI endpoint the conversation was run on.
    later = open_service(
        settings.with_overrides(openai_base_url=None, openai_api_key=None), tools=[]
    )
    try:
        texts = [m["text"] for m in later.messages("u", thread)]
        assert texts == ["question", "stored answer"]
        assert "stored answer" in later.export_thread("u", thread, "md")
        assert later.pending_approvals("u", thread) == []
        failed = collect(later.stream(thread, "again", user_id="u")).events
        assert [e.kind for e in failed if isinstance(e, ev.Error)] == ["provider_not_configured"]
    finally:
        later.close()
