"""Small-model mode and the visible plan."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage

from agent_app import events as ev
from agent_app.agent.small_model import parse_text_call, select_tools
from tests.fakes import FakeOllama, text
from tests.helpers import add, collect, echo_tool, scripted_service
from tests.scripted_model import ScriptedChatModel, answer, call

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "raw, ok",
    [
        ('{"tool": "add", "arguments": {"a": 1, "b": 2}}', True),
        ('```json\n{"tool": "add", "arguments": {"a": 1, "b": 2}}\n```', True),
        ('{"tool": "add", "arguments": {"a": 1, "b": 2', False),
        ('{"tool": "rm_rf", "arguments": {}}', False),
        ('{"tool": "add", "arguments": [1, 2]}', False),
        ('{"tool": "add", "tool": "echo_tool", "arguments": {}}', False),
        ("The answer is 3.", False),
    ],
)
def test_text_tool_calls_are_strict(raw, ok):
    call_ = parse_text_call(raw, {"add", "echo_tool"})
    assert (call_ is not None) == ok
    if ok:
        assert call_["name"] == "add" and call_["args"] == {"a": 1, "b": 2}


def test_relevant_tools_are_selected():
    chosen = select_tools("please add 2 and 3", [echo_tool, add], 1)
    assert [t.name for t in chosen] == ["add"]


@pytest.mark.integration
def test_ollama_model_without_tools_calls_them_in_json(settings):
    with FakeOllama() as fake:
        fake.push(text('{"tool": "add", "arguments": {"a": 20, "b": 22}}'), text("结果是 42"))
        s = settings.with_overrides(provider="ollama", ollama_host=fake.base_url, model="gemma3:1b")
        from agent_app.wiring import open_service

        svc = open_service(s, tools=[add, echo_tool])
        th = svc.new_thread("u").id
        res = collect(svc.stream(th, "add 20 and 22", user_id="u"))
        assert [(e.name, e.args) for e in res.events if isinstance(e, ev.ToolStart)] == [
            ("add", {"a": 20, "b": 22})
        ]
        assert res.text == "结果是 42"
        first = fake.chat_requests[0].json
        assert not first.get("tools") and "add" in first["messages"][0]["content"]


def test_small_native_model_sees_few_tools(settings):
    settings = settings.with_overrides(small_models="scripted", small_model_tools=1)
    model = ScriptedChatModel(script=[answer("hi")], model_name="scripted")
    svc = scripted_service(settings.with_overrides(model="tiny-scripted"), model)
    svc.set_thread_options("u", svc.new_thread("u").id)
    th = svc.new_thread("u").id
    collect(svc.stream(th, "add 1 and 2", user_id="u"))
    assert model.bound_tools == ["add"]


def test_plan_events_when_switched_on(settings):
    todos = [
        {"content": "look up", "status": "in_progress"},
        {"content": "answer", "status": "pending"},
    ]
    model = ScriptedChatModel(
        script=[call("write_todos", {"todos": todos}), AIMessage(content="done")]
    )
    svc = scripted_service(settings, model)
    th = svc.new_thread("u", options={"plan": True}).id
    res = collect(svc.stream(th, "multi-step please", user_id="u"))
    plans = [e for e in res.events if isinstance(e, ev.Plan)]
    assert plans and plans[-1].todos[0]["content"] == "look up"
    assert "write_todos" in model.bound_tools and res.text == "done"
