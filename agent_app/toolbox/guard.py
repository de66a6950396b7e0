"""The one tool guard: each call runs under a deadline with stdout diverted; errors and size bounded."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, Tool, ToolException
from langgraph.errors import GraphBubbleUp
from langgraph.types import Command

from agent_app.i18n import t
from agent_app.logsetup import redact
from agent_app.textsafe import clean_text, truncate

logger = logging.getLogger(__name__)
MAX_TOOL_OUTPUT = 20_000
_ABS_PATH = re.compile(r"(?<![\w:/.])(?:[A-Za-z]:)?[\\/](?:[^\s'\"\\/:]+[\\/])+([^\s'\"\\/:]*)")
_IN_TOOL: contextvars.ContextVar[bool] = contextvars.ContextVar("agent_app_in_tool", default=False)
_INSTALL_LOCK = threading.Lock()
Result = TypeVar("Result")


def describe_error(exc: BaseException, limit: int = 240) -> str:
    """A redacted one-line reason: type and message, absolute paths cut to their file name."""
    if isinstance(exc, SyntaxError):
        message = f"{exc.msg} (line {exc.lineno})"
    else:
        message = str(exc) if exc.args else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = _ABS_PATH.sub(lambda m: m.group(1) or "<path>", " ".join(text.split()))
    return truncate(redact(clean_text(text)), limit, "…")


def _text_of(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "(no output)"
    if isinstance(value, bytes | bytearray):
        return bytes(value[: MAX_TOOL_OUTPUT * 4]).decode("utf-8", "replace")
    if isinstance(value, list) and all(isinstance(b, dict) and "type" in b for b in value):
        # Content blocks (MCP results): keep the text, name what was dropped.
        return "\n".join(str(b.get("text", f"[{b['type']} omitted]")) for b in value)
    if isinstance(value, bool | int | float | dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def safe_tool_output(value: object, limit: int = MAX_TOOL_OUTPUT) -> str:
    """Any tool return value as a clean string of at most `limit` characters; never raises."""
    try:
        text = _text_of(value)
    except Exception:  # e.g. an object whose __str__ raises
        return f"[the tool returned a {type(value).__name__} object that cannot be shown]"
    total = len(text)
    text = clean_text(text[: limit + 1])
    return truncate(text, limit, f"\n…[truncated: tool output was {total} characters]")


class _ToolStdout:
    """sys.stdout for the whole process: writes made inside a tool call go to stderr instead.

    `agent-app chat --json` prints its events on stdout; a tool's print() must not be able to
    forge one. Writes from the tool's own threads or straight to file descriptor 1 are beyond it.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def _target(self) -> Any:
        return sys.stderr if _IN_TOOL.get() else self._inner

    def write(self, text: str) -> int:
        return int(self._target().write(text))

    def __getattr__(self, name: str) -> Any:  # flush, buffer, fileno, encoding…
        return getattr(self._target(), name)


def divert_tool_stdout() -> None:
    """Install the stdout switch (again, if a test harness or front end replaced sys.stdout)."""
    with _INSTALL_LOCK:
        if not isinstance(sys.stdout, _ToolStdout):
            sys.stdout = _ToolStdout(sys.stdout)


def _in_tool(call: Callable[[], Result]) -> Result:
    _IN_TOOL.set(True)
    return call()


def call_with_deadline(call: Callable[[], Result], timeout: float) -> Result:
    """Run `call` on its own thread (context copied, stdout diverted); TimeoutError past `timeout`.

    A Python thread cannot be killed: a call past its deadline is abandoned and its late result
    dropped; the turn goes on without it.
    """
    divert_tool_stdout()
    context = contextvars.copy_context()
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["result"] = context.run(_in_tool, call)
        except BaseException as exc:  # handed back to the caller's thread below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name="tool-call", daemon=True).start()
    if not done.wait(max(0.0, timeout)):
        raise TimeoutError
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


def tool_timeout(tool: BaseTool | None, default: float) -> float:
    """The deadline a tool declared (`metadata={"timeout_s": …}`), else `default`."""
    declared = (getattr(tool, "metadata", None) or {}).get("timeout_s")
    try:
        return float(declared) if declared is not None else default
    except (TypeError, ValueError):
        return default


def guarded_call(
    run: Callable[[], ToolMessage | Command],
    *,
    name: str,
    call_id: str,
    timeout: float,
    lang: str,
    max_output: int = MAX_TOOL_OUTPUT,
) -> ToolMessage | Command:
    """One tool call: a deadline, diverted stdout, every failure an error message, output bounded."""

    def error(text: str) -> ToolMessage:
        return ToolMessage(text, tool_call_id=call_id, name=name, status="error")

    try:
        result = call_with_deadline(run, timeout)
    except GraphBubbleUp:
        raise  # interrupts (approval) must reach LangGraph untouched
    except TimeoutError:
        logger.warning("tool %s timed out after %.3g s", name, timeout)
        return error(t("tool.timed_out", lang, name=name, seconds=f"{timeout:.2g}"))
    except ToolException as exc:  # the tool's own message for the model
        return error(truncate(clean_text(str(exc) or "tool failed"), 2000))
    except Exception as exc:  # a failing tool is reported to the model, never raised
        reason = describe_error(exc)
        logger.warning("tool %s failed: %s", name, reason)
        return error(f"Error: tool {name} failed: {reason}")
    if isinstance(result, ToolMessage):
        result.content = safe_tool_output(result.content, max_output)
    return result


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _sync_from_async(func: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Let a sync graph call an async-only tool (MCP): run it on a private loop in a thread."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["result"] = asyncio.run(_awaited(func(*args, **kwargs)))
            except BaseException as exc:  # handed back to the caller's thread below
                box["error"] = exc

        worker = threading.Thread(target=target, name="tool-async", daemon=True)
        worker.start()
        worker.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    return run


def prepare_tool(tool: BaseTool, *, timeout: float | None = None) -> BaseTool:
    """A copy of `tool` callable from the sync graph, carrying its call deadline if it has one."""
    update: dict[str, Any] = {}
    if timeout is not None:
        update["metadata"] = {**(tool.metadata or {}), "timeout_s": float(timeout)}
    if isinstance(tool, StructuredTool | Tool) and tool.func is None and tool.coroutine is not None:
        update["func"] = _sync_from_async(tool.coroutine)
    return tool.model_copy(update=update)  # a copy: later marks (approval) never touch the original
