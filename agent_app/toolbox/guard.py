"""Runtime guard for tools: errors become messages, outputs become bounded clean strings (G6, D9)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, Tool, ToolException
from langgraph.errors import GraphBubbleUp
from langgraph.types import Command

from agent_app.logsetup import redact
from agent_app.textsafe import clean_text, truncate

logger = logging.getLogger(__name__)
MAX_TOOL_OUTPUT = 20_000
_ABS_PATH = re.compile(r"(?<![\w:/.])(?:[A-Za-z]:)?[\\/](?:[^\s'\"\\/:]+[\\/])+([^\s'\"\\/:]*)")


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


def _tool_error_text(exc: ToolException) -> str:
    return truncate(clean_text(str(exc) or "tool failed"), 2000)


def _finish(result: Any, response_format: str) -> Any:
    if isinstance(result, ToolMessage | Command):
        return result  # structured results (state updates, artifacts) are the graph's business
    if response_format == "content_and_artifact" and isinstance(result, tuple) and len(result) == 2:
        return safe_tool_output(result[0]), result[1]
    return safe_tool_output(result)


def _failure(name: str, exc: Exception) -> ToolException:
    if isinstance(exc, ToolException):
        return ToolException(_tool_error_text(exc))
    reason = describe_error(exc)
    logger.warning("tool %s failed: %s", name, reason)
    return ToolException(f"Tool {name} failed: {reason}")


def _guard_sync(name: str, func: Callable[..., Any], fmt: str) -> Callable[..., Any]:
    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
        except GraphBubbleUp:
            raise  # interrupts (approval) must reach LangGraph untouched
        except Exception as exc:
            raise _failure(name, exc) from None
        return _finish(result, fmt)

    return run


def _guard_async(
    name: str, func: Callable[..., Awaitable[Any]], fmt: str, timeout: float | None
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(func)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = await asyncio.wait_for(func(*args, **kwargs), timeout)
        except GraphBubbleUp:
            raise
        except TimeoutError:
            raise ToolException(f"Tool {name} timed out after {timeout:g} s") from None
        except Exception as exc:
            raise _failure(name, exc) from None
        return _finish(result, fmt)

    return run


def _sync_from_async(func: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
    """Let a sync graph call an async-only tool (MCP): run it on a private loop in a thread."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["result"] = asyncio.run(func(*args, **kwargs))
            except BaseException as exc:  # handed back to the caller's thread below
                box["error"] = exc

        worker = threading.Thread(target=target, name="tool-async", daemon=True)
        worker.start()
        worker.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    return run


def guard_tool(tool: BaseTool, *, timeout: float | None = None) -> BaseTool:
    """A copy of `tool` whose failures become error ToolMessages and whose output is bounded."""
    update: dict[str, Any] = {"handle_tool_error": _tool_error_text}
    if isinstance(tool, StructuredTool | Tool):
        fmt = tool.response_format
        if tool.func is not None:
            update["func"] = _guard_sync(tool.name, tool.func, fmt)
        if tool.coroutine is not None:
            update["coroutine"] = _guard_async(tool.name, tool.coroutine, fmt, timeout)
            if tool.func is None:
                update["func"] = _sync_from_async(update["coroutine"])
    return tool.model_copy(update=update)
