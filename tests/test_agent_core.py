"""The agent core with a scripted model: streaming, tool steps, durable threads."""

from __future__ import annotations

import pytest

from agent_app import events as ev
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer, call

pytestmark = pytest.mark.unit


def test_turn_streams_tokens_tool_steps_and_done(settings):
    model = ScriptedChatModel(script=[call("add", {"a": 2, "b": 3}), answer("The sum is 5.")])
    svc = scripted_service(settings, model)
    thread = svc.new_thread("u1")
    result = collect(svc.stream(thread.id, "what is 2+3?", user_id="u1"))
    types = [e.type for e in result.events]
    assert types.index("tool_start") < types.index("tool_end") < types.index("token")
    assert result.text == "The sum is 5."
    start = next(e for e in result.events if isinstance(e, ev.ToolStart))
    end = next(e for e in result.events if isinstance(e, ev.ToolEnd))
    assert (start.name, start.args) == ("add", {"a": 2, "b": 3})
    assert end.output == "5" and end.error is None
    assert isinstance(result.events[-1], ev.Done)
    assert len([e for e in result.events if isinstance(e, ev.Usage)]) == 2
    msgs = svc.messages("u1", thread.id)
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "assistant"]
    assert msgs[-1]["text"] == "The sum is 5."


def test_thread_remembers_across_service_instances(settings):
    model = ScriptedChatModel(script=[answer("hi"), answer("again")])
    svc = scripted_service(settings, model)
    thread = svc.new_thread("u1")
    collect(svc.stream(thread.id, "first", user_id="u1"))
    svc.close()
    svc2 = scripted_service(settings, model)
    collect(svc2.stream(thread.id, "second", user_id="u1"))
    texts = [m.content for m in model.seen[-1]]
    assert "first" in texts and "hi" in texts and "second" in texts
