"""Graph-level faults with the scripted model: bad tool calls, loops, empty answers, long history."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent_app import events as ev
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer, call, calls

pytestmark = pytest.mark.unit


def _bad_json_call(name: str = "echo_tool", raw: str = '{"text": "http://ex') -> AIMessage:
    return AIMessage(
        content="",
        invalid_tool_calls=[
            {"name": name, "args": raw, "id": "bad1", "error": "json", "type": "invalid_tool_call"}
        ],
    )


def _assert_no_dangling(svc, user, thread_id):
    msgs = svc.messages(user, thread_id)
    call_ids = {c["id"] for m in msgs if m["role"] == "assistant" for c in m["tool_calls"]}
    answered = {m["tool_call_id"] for m in msgs if m["role"] == "tool"}
    assert call_ids <= answered


def test_invalid_tool_json_is_not_executed_and_model_is_asked_again(settings):  # A10
    model = ScriptedChatModel(
        script=[_bad_json_call(), call("echo_tool", {"text": "ok"}), answer("fixed")]
    )
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "fetch", user_id="u"))
    starts = [e for e in res.events if isinstance(e, ev.ToolStart)]
    assert [s.args for s in starts] == [{"text": "ok"}]  # the broken call never ran
    second_prompt = model.seen[1]
    notes = [m for m in second_prompt if isinstance(m, ToolMessage)]
    assert notes and "valid JSON" in notes[0].content
    assert res.text == "fixed" and isinstance(res.events[-1], ev.Done)


def test_invalid_tool_json_repairs_are_capped(settings):  # A10: at most 2 repairs, then stop
    model = ScriptedChatModel(default=lambda msgs: _bad_json_call())
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "fetch", user_id="u"))
    assert len(model.seen) == 3
    assert not any(isinstance(e, ev.ToolStart) for e in res.events)
    assert res.errors and res.errors[-1].kind == "empty_answer"


@pytest.mark.parametrize("name", ["delete_all_files", "", "calculator; rm -rf"])
def test_unknown_tool_never_executes(settings, name):  # A12
    model = ScriptedChatModel(script=[call(name, {"x": 1}), answer("sorry")])
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "go", user_id="u"))
    end = next(e for e in res.events if isinstance(e, ev.ToolEnd))
    assert end.error and "unknown tool" in end.error and "add" in end.error
    assert isinstance(res.events[-1], ev.Done)


def test_schema_violations_are_returned_to_the_model(settings):  # A13
    big = "x" * 1_000_000
    model = ScriptedChatModel(
        script=[
            calls(
                ("add", {"a": "two"}), ("add", {"a": 1}), ("echo_tool", {"text": big, "extra": 1})
            ),
            answer("ok"),
        ]
    )
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "go", user_id="u"))
    starts = {e.call_id: e.name for e in res.events if isinstance(e, ev.ToolStart)}
    ends = [e for e in res.events if isinstance(e, ev.ToolEnd)]
    assert len(ends) == 3
    assert all(len(e.output) <= 2100 for e in ends)
    add_ends = [e for e in ends if starts[e.call_id] == "add"]
    assert len(add_ends) == 2 and all("error" in e.output.lower() for e in add_ends)
    assert isinstance(res.events[-1], ev.Done)


def test_endless_tool_loop_ends_with_step_limit(settings):  # A14
    settings = settings.with_overrides(max_tool_calls=5, recursion_limit=12)
    counter = iter(range(10**6))
    model = ScriptedChatModel(
        default=lambda msgs: call("echo_tool", {"text": f"again {next(counter)}"})
    )
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "loop", user_id="u"))
    assert res.errors and res.errors[-1].kind == "step_limit"
    _assert_no_dangling(svc, "u", th.id)
    model.script, model.default = [], "recovered"
    model._index = 10**6
    res2 = collect(svc.stream(th.id, "hello", user_id="u"))
    assert res2.text == "recovered"


def test_identical_calls_are_refused_after_two(settings):  # A14 dedup
    model = ScriptedChatModel(
        default=lambda msgs: (
            call("echo_tool", {"text": "same"}) if len(msgs) < 9 else answer("done")
        )
    )
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "x", user_id="u"))
    ends = [e for e in res.events if isinstance(e, ev.ToolEnd)]
    assert [e.error is None for e in ends][:2] == [True, True]
    assert ends[2].error and "already made" in ends[2].error


@pytest.mark.parametrize("content", ["", "<think>only thinking</think>"])
def test_empty_answer_gives_clear_error_and_thread_stays_usable(settings, content):  # A15
    model = ScriptedChatModel(script=[AIMessage(content=content), answer("second")])
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "hi", user_id="u"))
    assert res.errors and res.errors[0].kind == "empty_answer" and res.errors[0].message
    res2 = collect(svc.stream(th.id, "again", user_id="u"))
    assert res2.text == "second"


def test_long_history_is_trimmed_and_new_message_kept(settings):  # A16
    settings = settings.with_overrides(context_tokens=300)
    model = ScriptedChatModel(default=lambda msgs: answer("ok"))
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    for i in range(15):
        collect(svc.stream(th.id, f"message {i} " + "lorem ipsum " * 20, user_id="u"))
    collect(svc.stream(th.id, "the newest question", user_id="u"))
    sent = model.seen[-1]
    assert isinstance(sent[-1], HumanMessage) and sent[-1].content == "the newest question"
    assert len(sent) < 32
    shown = [m for m in svc.messages("u", th.id) if m["role"] != "summary"]
    assert len(shown) == 32  # the stored thread keeps everything (condensed turns are still shown)


def test_dangling_tool_call_is_repaired_on_next_turn(settings):  # A17
    model = ScriptedChatModel(script=[answer("next answer")])
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    graph = svc._state_graph(th)
    cfg = {"configurable": {"thread_id": th.id}}
    dangling = AIMessage(
        content="",
        tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}],
    )
    graph.update_state(cfg, {"messages": [HumanMessage("add please"), dangling]})
    res = collect(svc.stream(th.id, "hello?", user_id="u"))
    assert res.text == "next answer"
    sent = model.seen[0]
    idx = next(i for i, m in enumerate(sent) if isinstance(m, AIMessage) and m.tool_calls)
    assert isinstance(sent[idx + 1], ToolMessage) and sent[idx + 1].tool_call_id == "c1"
    res2 = collect(svc.stream(th.id, "and again", user_id="u"))
    assert isinstance(res2.events[-1], ev.Done)


def test_tool_exceptions_and_odd_outputs_become_errors(settings):  # G6 via the guard
    from langchain_core.tools import tool

    class Bad:
        def __str__(self):
            raise RuntimeError("no str")

    @tool
    def boom() -> str:
        """Always raises."""
        raise RuntimeError("kaput")

    @tool
    def huge() -> str:
        """Returns 50 MB."""
        return "x" * 50_000_000

    @tool
    def odd() -> object:
        """Returns an unprintable object."""
        return Bad()

    model = ScriptedChatModel(
        script=[calls(("boom", {}), ("huge", {}), ("odd", {})), answer("done")]
    )
    svc = scripted_service(settings, model, tools=[boom, huge, odd])
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "go", user_id="u"))
    ends = {e.call_id: e for e in res.events if isinstance(e, ev.ToolEnd)}
    assert len(ends) == 3
    stored = [m for m in svc.messages("u", th.id) if m["role"] == "tool"]
    assert all(len(m["text"]) <= 20_000 for m in stored)
    assert any("kaput" in m["text"] for m in stored)
    assert isinstance(res.events[-1], ev.Done)


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_input_is_ignored_without_model_call(settings, text):  # I3
    model = ScriptedChatModel()
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, text, user_id="u"))
    assert [e.type for e in res.events] == ["error"] and res.errors[0].kind == "empty_input"
    assert model.seen == [] and svc.messages("u", th.id) == []


def test_oversized_input_is_rejected_before_the_provider(settings):  # I2
    model = ScriptedChatModel()
    svc = scripted_service(settings, model)
    th = svc.new_thread("u")
    res = collect(svc.stream(th.id, "字" * 1_000_000, user_id="u"))
    assert res.errors[0].kind == "input_rejected" and "1000000" in res.errors[0].message
    assert model.seen == []
