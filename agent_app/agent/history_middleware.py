"""Middleware that keeps the stored history valid: dangling calls, bad tool JSON, empty answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import (
    AgentMiddleware,
    ModelRequest,
    ModelResponse,
)
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.tools import BaseTool

from agent_app.agent.async_twins import async_twins
from agent_app.agent.context import AgentContext, TurnState
from agent_app.agent.toolcall_audit import current_capture, enforce, start_capture, stop_capture
from agent_app.i18n import t

log = logging.getLogger(__name__)
MAX_REPAIRS = 2


def repair_dangling(messages: list[AnyMessage], note: str) -> list[AnyMessage] | None:
    """Answer each tool call left without a result with a synthetic one (providers reject gaps)."""
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    repaired: list[AnyMessage] = []
    changed = False
    for i, msg in enumerate(messages):
        repaired.append(msg)
        if not isinstance(msg, AIMessage):
            continue
        calls = [*msg.tool_calls, *getattr(msg, "invalid_tool_calls", [])]
        missing = [c for c in calls if c.get("id") and c["id"] not in answered]
        if not missing:
            continue
        # Results already present right after this message stay first.
        j = i + 1
        while j < len(messages) and isinstance(messages[j], ToolMessage):
            j += 1
        for call in missing:
            repaired.append(
                ToolMessage(
                    note, tool_call_id=call["id"], name=call.get("name") or "", status="error"
                )
            )
            answered.add(call["id"])
        changed = True
    if not changed:
        return None
    # Move the synthetic results behind any real ToolMessages of the same turn.
    return _stable_tool_order(repaired)


def _stable_tool_order(messages: list[AnyMessage]) -> list[AnyMessage]:
    out: list[AnyMessage] = []
    i = 0
    while i < len(messages):
        msg = messages[i]
        out.append(msg)
        i += 1
        if isinstance(msg, AIMessage):
            block: list[AnyMessage] = []
            while i < len(messages) and isinstance(messages[i], ToolMessage):
                block.append(messages[i])
                i += 1
            out.extend(block)
    return out


@async_twins
class HistoryRepairMiddleware(AgentMiddleware):
    """A thread left with a tool call and no result gets one in the prompt (no provider 400).

    Works on the request, not the state, so it adds no graph step; the service repairs the
    stored state itself after a failed or stopped turn.
    """

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Give dangling tool calls a "not executed" result before the model sees the history."""
        ctx = request.runtime.context if request.runtime else None
        lang = ctx.lang if isinstance(ctx, AgentContext) else "en"
        fixed = repair_dangling(list(request.messages), t("tool.not_executed", lang))
        if fixed is None:
            return handler(request)
        log.warning("repaired a dangling tool call in the prompt")
        return handler(request.override(messages=fixed))


@async_twins
class ToolCallValidationMiddleware(AgentMiddleware):
    """Invalid tool-call JSON never executes; the model is asked to re-emit, at most twice.

    The repair happens inside the model call (no extra graph step); failed attempts are not
    stored. Valid sibling calls of an invalid one still run.
    """

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Send bad tool calls back to the model to re-emit, twice at most."""
        known = {
            t.name if isinstance(t, BaseTool) else str(t.get("name", "")) for t in request.tools
        }
        ctx = request.runtime.context if request.runtime else None
        turn = ctx.turn if isinstance(ctx, AgentContext) else TurnState()
        current = request
        while True:
            response = self._checked(current, handler, known)
            ai = next((m for m in response.result if isinstance(m, AIMessage)), None)
            invalid = list(ai.invalid_tool_calls) if ai is not None else []
            if ai is None or not invalid:
                return response
            if ai.tool_calls:  # run the valid siblings; drop the broken ones
                return self._replace(response, ai, ai.model_copy(update={"invalid_tool_calls": []}))
            turn.repairs += 1
            if turn.repairs > MAX_REPAIRS:
                log.warning("tool-call JSON still invalid after %d repairs", MAX_REPAIRS)
                return self._replace(response, ai, AIMessage(content=ai.text, id=ai.id))
            current = request.override(messages=[*current.messages, ai, *self._notes(invalid)])

    @staticmethod
    def _checked(
        request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse], known: set[str]
    ) -> ModelResponse:
        capture, token = current_capture(), None
        if capture is None:
            capture, token = start_capture()
        capture.reset_calls()  # each attempt's arguments are judged on their own
        try:
            response = handler(request)
        finally:
            if token is not None:
                stop_capture(token)
        response.result = [
            enforce(m, capture, known) if isinstance(m, AIMessage) else m for m in response.result
        ]
        return response

    @staticmethod
    def _replace(response: ModelResponse, old: AIMessage, new: AIMessage) -> ModelResponse:
        response.result = [new if m is old else m for m in response.result]
        return response

    @staticmethod
    def _notes(invalid: list[Any]) -> list[ToolMessage]:
        return [
            ToolMessage(
                "Error: the arguments were not a valid JSON object; nothing was executed. "
                "Re-emit the call with valid JSON arguments.",
                tool_call_id=c.get("id") or f"invalid-{i}",
                name=c.get("name") or "",
                status="error",
            )
            for i, c in enumerate(invalid)
        ]
