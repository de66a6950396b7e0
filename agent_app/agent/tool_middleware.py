"""Middleware around each tool call: live events, budgets and loop breaking, then the tool guard."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agent_app.agent.async_twins import async_twins
from agent_app.agent.context import AgentContext, TurnState
from agent_app.agent.model_middleware import _write
from agent_app.toolbox.guard import MAX_TOOL_OUTPUT, guarded_call, safe_tool_output, tool_timeout

log = logging.getLogger(__name__)
MAX_IDENTICAL_CALLS = 2
DEFAULT_TOOL_TIMEOUT_S = 60.0


def _context(request: ToolCallRequest) -> AgentContext:
    ctx = getattr(request.runtime, "context", None)
    return ctx if isinstance(ctx, AgentContext) else AgentContext()


@async_twins
class ToolGuardMiddleware(AgentMiddleware):
    """Emits tool_start/tool_end, enforces the per-turn cap and deadline, never lets a tool crash the turn."""

    def __init__(
        self,
        max_tool_calls: int,
        tool_names: list[str],
        max_output: int = MAX_TOOL_OUTPUT,
        timeout: float = DEFAULT_TOOL_TIMEOUT_S,
    ) -> None:
        super().__init__()
        self.max_tool_calls, self.max_output, self.timeout = max_tool_calls, max_output, timeout
        self.tool_names = sorted(tool_names)

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolMessage | Command]
    ) -> ToolMessage | Command:
        """Run one tool call with live events, budgets, loop breaking and bounded, safe output."""
        call = request.tool_call
        call_id, name = call.get("id") or "", call.get("name") or ""
        args = call.get("args") if isinstance(call.get("args"), dict) else {}
        ctx = _context(request)
        turn = ctx.turn
        turn.tool_calls += 1
        _write({"type": "tool_start", "call_id": call_id, "name": name, "args": args})
        started = time.perf_counter()
        refusal = self._refusal(request, turn, name, args)
        if refusal is not None:
            result: ToolMessage | Command = ToolMessage(
                refusal, tool_call_id=call_id, name=name, status="error"
            )
        else:
            # The tool's own deadline, capped by what is left of the turn's.
            timeout = min(
                tool_timeout(request.tool, self.timeout), turn.deadline - time.monotonic()
            )
            result = guarded_call(
                lambda: handler(request),
                name=name,
                call_id=call_id,
                timeout=timeout,
                lang=ctx.lang,
                max_output=self.max_output,
            )
        self._emit_end(result, call_id, started)
        return result

    def _refusal(
        self, request: ToolCallRequest, turn: TurnState, name: str, args: dict[str, Any]
    ) -> str | None:
        if request.tool is None:
            available = ", ".join(self.tool_names)
            return (
                f"Error: unknown tool {name[:60]!r}; nothing was executed. Available: [{available}]"
            )
        if turn.tool_calls > self.max_tool_calls:
            return "Error: tool-call budget for this turn is used up; answer with what you have."
        if time.monotonic() > turn.deadline:
            return "Error: time budget for this turn is used up; answer with what you have."
        key = f"{name}:{json.dumps(args, sort_keys=True, default=str)}"
        turn.seen_calls[key] = turn.seen_calls.get(key, 0) + 1
        if turn.seen_calls[key] > MAX_IDENTICAL_CALLS:
            return "Error: this exact call was already made; do not repeat it. Answer with what you have."
        return None

    @staticmethod
    def _emit_end(result: ToolMessage | Command, call_id: str, started: float) -> None:
        duration = (time.perf_counter() - started) * 1000
        if isinstance(result, ToolMessage):
            result.response_metadata["duration_ms"] = duration  # stored: the history shows it too
            text = safe_tool_output(result.content, 2000)
            error = text[:300] if result.status == "error" else None
            _write(
                {
                    "type": "tool_end",
                    "call_id": call_id,
                    "output": text,
                    "error": error,
                    "duration_ms": duration,
                    "artifact": result.artifact,
                }
            )
        else:
            _write(
                {
                    "type": "tool_end",
                    "call_id": call_id,
                    "output": "",
                    "error": None,
                    "duration_ms": duration,
                    "artifact": None,
                }
            )
