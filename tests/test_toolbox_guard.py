"""The tool guard (G6, D9) on the real agent: failing or misbehaving tools become error messages."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import ToolException, tool
from langgraph.errors import GraphInterrupt
from langgraph.types import Command

from agent_app import events as ev
from agent_app.toolbox import describe_error, guarded_call, prepare_tool, safe_tool_output
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer
from tests.scripted_model import call as call_msg

pytestmark = pytest.mark.integration


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


@tool
def misbehave(kind: str) -> str:
    """A tool that misbehaves on request."""
    results = {
        "int": 42,
        "none": None,
        "dict": {"a": [1, 2]},
        "bytes": b"\xff\xfeok",
        "huge": "x" * 50_000_000,
        "unprintable": Unprintable(),
        "nul": "a\x00b\ud800c",
    }
    if kind == "raise":
        raise KeyError("sk-SECRET123456 missing at /srv/app/private/file.py")
    if kind == "interrupt":
        raise GraphInterrupt(())
    if kind == "tool_exception":
        raise ToolException("bad input, try kind=fine")
    return results.get(kind, "fine")  # type: ignore[return-value]


def call(settings, tool_obj, kind: str, **args: object) -> ToolMessage:
    """One call of `tool_obj` by the real agent (scripted model); the ToolMessage the model saw."""
    model = ScriptedChatModel(
        script=[call_msg(tool_obj.name, {"kind": kind, **args}), answer("ok")]
    )
    svc = scripted_service(settings, model, tools=[tool_obj])
    result = collect(svc.stream(svc.new_thread("u").id, "go", user_id="u", lang="en"))
    assert isinstance(result.events[-1], ev.Done)  # the turn survived the tool
    return next(m for m in model.seen[1] if isinstance(m, ToolMessage))


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("int", "42"),
        ("dict", '{"a": [1, 2]}'),
        ("nul", "ab?c"),
        ("fine", "fine"),
    ],
)
def test_g6_non_string_results_become_clean_strings(settings, kind: str, expected: str) -> None:
    result = call(settings, misbehave, kind)
    assert result.status == "success" and result.content == expected


def test_g6_raising_tool_is_an_error_message_without_secrets(settings) -> None:
    result = call(settings, misbehave, "raise")
    assert result.status == "error"
    assert result.content == "Error: tool misbehave failed: KeyError: 'sk-*** missing at file.py'"


def test_g6_fifty_megabytes_are_truncated(settings) -> None:
    result = call(settings, misbehave, "huge")
    assert len(result.content) <= 20_000 and "tool output was 50000000 characters" in result.content


def test_g6_object_whose_str_raises(settings) -> None:
    result = call(settings, misbehave, "unprintable")
    assert result.status == "error" and "RuntimeError" in result.content


def test_a_tool_exception_is_its_message_for_the_model(settings) -> None:
    result = call(settings, misbehave, "tool_exception")
    assert result.status == "error" and result.content == "bad input, try kind=fine"


def test_interrupts_pass_through_for_approval() -> None:
    with pytest.raises(GraphInterrupt):
        guarded_call(
            lambda: misbehave.func(kind="interrupt"),
            name="misbehave",
            call_id="c",
            timeout=5,
            lang="en",
        )


def test_preparing_copies_and_keeps_schema_and_metadata() -> None:
    flagged = misbehave.model_copy(update={"metadata": {"needs_approval": True}})
    prepared = prepare_tool(flagged, timeout=2)
    assert prepared is not flagged and flagged.metadata == {"needs_approval": True}
    assert prepared.args == misbehave.args
    assert prepared.metadata == {"needs_approval": True, "timeout_s": 2.0}


def test_async_only_tools_run_from_the_sync_agent_with_their_deadline(settings) -> None:
    @tool
    async def slow(kind: str, seconds: float = 0) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "awake"

    prepared = prepare_tool(slow, timeout=0.3)
    assert call(settings, prepared, "x").content == "awake"
    late = call(settings, prepared, "x", seconds=5)
    assert (
        late.status == "error"
        and late.content == "Error: tool slow timed out after 0.3 s; it gave no result."
    )


def test_structured_results_are_left_alone() -> None:
    @tool
    def updates(x: int) -> Command:
        """Return a state update."""
        return Command(update={"x": x})

    result = guarded_call(
        lambda: updates.func(x=1), name="updates", call_id="c", timeout=5, lang="en"
    )
    assert isinstance(result, Command)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("text", "text"),
        (None, "(no output)"),
        (1.5, "1.5"),
        (True, "true"),
        ([1, "a"], '[1, "a"]'),
        ([{"type": "text", "text": "hi"}, {"type": "image", "url": "u"}], "hi\n[image omitted]"),
        ({"k": object()}, None),
    ],
)
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
    assert (
        describe_error(exc) == "FileNotFoundError: [Errno 2] No such file or directory: 'key.txt'"
    )
    assert describe_error(ValueError("a\nb\tc " * 100)).count("\n") == 0
    assert len(describe_error(ValueError("x" * 1000))) <= 240
