"""Runtime guard (G6, D9): failing or misbehaving tools become error messages; the turn continues."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.errors import GraphInterrupt
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command

from agent_app.toolbox import describe_error, guard_tool, safe_tool_output

pytestmark = pytest.mark.unit


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


@tool
def misbehave(kind: str) -> str:
    """A tool that misbehaves on request."""
    results = {
        "int": 42, "none": None, "dict": {"a": [1, 2]}, "bytes": b"\xff\xfeok",
        "huge": "x" * 50_000_000, "unprintable": Unprintable(), "nul": "a\x00b\ud800c",
    }
    if kind == "raise":
        raise KeyError("sk-SECRET123456 missing at /srv/app/private/file.py")
    if kind == "interrupt":
        raise GraphInterrupt(())
    return results.get(kind, "fine")  # type: ignore[return-value]


def call(tool_obj, kind: str) -> ToolMessage:
    """Run one call through a real ToolNode inside a one-node graph."""
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode([tool_obj]))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    message = AIMessage("", tool_calls=[{"id": "c1", "name": tool_obj.name, "args": {"kind": kind}}])
    return graph.compile().invoke({"messages": [message]})["messages"][-1]


@pytest.mark.parametrize("kind, expected", [
    ("int", "42"), ("none", "(no output)"), ("dict", '{"a": [1, 2]}'), ("bytes", "\ufffd\ufffdok"),
    ("nul", "ab?c"), ("fine", "fine"),
])
def test_g6_non_string_results_become_clean_strings(kind: str, expected: str) -> None:
    result = call(guard_tool(misbehave), kind)
    assert result.status == "success" and result.content == expected


def test_g6_raising_tool_is_an_error_message_without_secrets() -> None:
    result = call(guard_tool(misbehave), "raise")
    assert result.status == "error"
    assert result.content == "Tool misbehave failed: KeyError: 'sk-*** missing at file.py'"


def test_g6_fifty_megabytes_are_truncated() -> None:
    result = call(guard_tool(misbehave), "huge")
    assert len(result.content) <= 20_000 and "tool output was 50000000 characters" in result.content


def test_g6_object_whose_str_raises() -> None:
    result = call(guard_tool(misbehave), "unprintable")
    assert result.content == "[the tool returned a Unprintable object that cannot be shown]"


def test_interrupts_pass_through_for_approval() -> None:
    with pytest.raises(GraphInterrupt):
        guard_tool(misbehave).func(kind="interrupt")


def test_guarding_copies_and_keeps_schema_and_metadata() -> None:
    flagged = misbehave.model_copy(update={"metadata": {"needs_approval": True}})
    guarded = guard_tool(flagged)
    assert guarded is not flagged and misbehave.func is not guarded.func
    assert guarded.args == misbehave.args and guarded.metadata == {"needs_approval": True}


def test_async_only_tools_run_from_sync_code_with_a_timeout() -> None:
    @tool
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "awake"

    guarded = guard_tool(slow, timeout=0.3)
    assert guarded.invoke({"seconds": 0}) == "awake"
    assert asyncio.run(guarded.ainvoke({"seconds": 0})) == "awake"
    late = guarded.invoke({"type": "tool_call", "id": "t", "name": "slow", "args": {"seconds": 5}})
    assert late.status == "error" and late.content == "Tool slow timed out after 0.3 s"


def test_structured_results_are_left_alone() -> None:
    @tool
    def updates(x: int) -> Command:
        """Return a state update."""
        return Command(update={"x": x})

    assert isinstance(guard_tool(updates).func(x=1), Command)


@pytest.mark.parametrize("value, expected", [
    ("text", "text"), (None, "(no output)"), (1.5, "1.5"), (True, "true"), ([1, "a"], '[1, "a"]'),
    ([{"type": "text", "text": "hi"}, {"type": "image", "url": "u"}], "hi\n[image omitted]"),
    ({"k": object()}, None),
])
def test_safe_tool_output_values(value: object, expected: str | None) -> None:
    out = safe_tool_output(value)
    assert isinstance(out, str)
    if expected is not None:
        assert out == expected


def test_safe_tool_output_limit_and_surrogates() -> None:
    assert len(safe_tool_output("abc" * 100, limit=80)) <= 80
    assert safe_tool_output("\ud800x\x00") == "?x"


def test_describe_error_is_one_redacted_line() -> None:
    exc = OSError(2, "No such file or directory", "/home/u/.secrets/key.txt")
    assert describe_error(exc) == "FileNotFoundError: [Errno 2] No such file or directory: 'key.txt'"
    assert describe_error(ValueError("a\nb\tc " * 100)).count("\n") == 0
    assert len(describe_error(ValueError("x" * 1000))) <= 240
