"""Small-model mode: few relevant tools, and a plain-JSON tool call in text as a fallback."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import BaseTool

from agent_app.agent.async_twins import async_twins
from agent_app.agent.toolcall_audit import strict_object
from agent_app.prompts import load_prompt
from agent_app.providers.offline_embed import OfflineEmbedder

_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)


def select_tools(query: str, tools: Sequence[BaseTool], k: int) -> list[BaseTool]:
    """The k tools whose name and description are lexically closest to the user's message."""
    if len(tools) <= k:
        return list(tools)
    embedder = OfflineEmbedder(dim=256)
    docs = embedder.embed_array([f"{t.name.replace('_', ' ')} {t.description}" for t in tools])
    scores = docs @ embedder.embed_array([query])[0]
    order = np.argsort(-scores, kind="stable")[:k]
    return [tools[i] for i in sorted(order)]


def parse_text_call(text: str, allowed: set[str]) -> dict[str, Any] | None:
    """A tool call written as JSON in the answer text; None unless it is exactly valid."""
    match = _JSON_BLOCK.search(text)
    raw = match.group(1) if match else text.strip()
    if not (raw.startswith("{") and raw.endswith("}")):
        return None
    obj = strict_object(raw)
    if obj is None:
        return None
    name = obj.get("tool") or obj.get("name")
    args = obj.get("arguments", obj.get("args", {}))
    if not isinstance(name, str) or name not in allowed or not isinstance(args, dict):
        return None
    return {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}


@async_twins
class SmallModelMiddleware(AgentMiddleware):
    """Shows a small model only the most relevant tools; without native tool calling, reads JSON calls."""

    def __init__(self, *, native_tools: bool, max_tools: int = 3) -> None:
        super().__init__()
        self.native_tools, self.max_tools = native_tools, max_tools

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        """Offer a small model only the most relevant tools, natively or as JSON in text."""
        tools = [t for t in request.tools if isinstance(t, BaseTool)]
        query = next(
            (m.text for m in reversed(request.messages) if isinstance(m, HumanMessage)), ""
        )
        chosen = select_tools(query, tools, self.max_tools)
        if self.native_tools:
            return handler(request.override(tools=list[Any](chosen)))
        lang = getattr(request.runtime.context, "lang", "zh") if request.runtime else "zh"
        listing = "\n".join(
            f"- {t.name}: {t.description.strip()} args: {json.dumps(t.args, ensure_ascii=False)}"
            for t in chosen
        )
        base = request.system_message.content if request.system_message else ""
        prompt = f"{base}\n\n{load_prompt('small_model_tools', lang).replace('{tools}', listing)}"
        response = handler(request.override(tools=[], system_message=SystemMessage(content=prompt)))
        response.result = [self._to_call(m, {t.name for t in chosen}) for m in response.result]
        return response

    @staticmethod
    def _to_call(message: Any, allowed: set[str]) -> Any:
        if not isinstance(message, AIMessage) or message.tool_calls:
            return message
        call = parse_text_call(message.text, allowed)
        if call is None:
            return message
        return message.model_copy(update={"content": "", "tool_calls": [call]})
