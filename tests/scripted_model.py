"""ScriptedChatModel: a test double that streams scripted answers, tool calls and faults."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import Field, PrivateAttr

Step = AIMessage | Exception | str | Callable[[list[BaseMessage]], Any]


def answer(text: str) -> AIMessage:
    return AIMessage(content=text)


def call(
    name: str, args: dict[str, Any] | None = None, *, text: str = "", call_id: str | None = None
) -> AIMessage:
    return AIMessage(
        content=text,
        tool_calls=[
            {
                "name": name,
                "args": args or {},
                "id": call_id or f"call_{uuid.uuid4().hex[:8]}",
                "type": "tool_call",
            }
        ],
    )


def calls(*pairs: tuple[str, dict[str, Any]]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {"name": n, "args": a, "id": f"call_{uuid.uuid4().hex[:8]}", "type": "tool_call"}
            for n, a in pairs
        ],
    )


def tool_then_answer(
    name: str, args: dict[str, Any], final: Callable[[str], str] = lambda r: f"result: {r}"
) -> Callable[[list[BaseMessage]], AIMessage]:
    """A responder: calls the tool unless the last message is its result, then answers."""

    def respond(messages: list[BaseMessage]) -> AIMessage:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            return answer(final(str(last.content)))
        return call(name, args)

    return respond


INSTRUCTION = re.compile(r"DO (\{.*?\}\})")
MEMORY_LINE = re.compile(r"\[([0-9a-f]{32})\] ([^\n(]+)")


def fill_placeholders(args: dict[str, Any], seen_text: str) -> dict[str, Any]:
    """{memories} becomes every memory text seen so far (URL-quoted), {memory_id} the first id."""
    memories = MEMORY_LINE.findall(seen_text)
    raw = json.dumps(args, ensure_ascii=False)
    raw = raw.replace("{memories}", quote(";".join(text.strip() for _, text in memories)))
    return json.loads(raw.replace("{memory_id}", memories[0][0] if memories else "none"))


def obedient(
    first: tuple[str, dict[str, Any]], final: str = "done"
) -> Callable[[list[BaseMessage]], AIMessage]:
    """A responder that makes `first` call, then obeys every `DO {"tool", "args"}` line in tool results.

    It stands for a model that follows instructions injected into a document or a web page: one
    instruction per model call, in order, whatever happened to the previous one.
    """

    def respond(messages: list[BaseMessage]) -> AIMessage:
        start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        turn = messages[start + 1 :]
        if not turn:
            return call(*first)
        results = "\n".join(str(m.content) for m in turn if isinstance(m, ToolMessage))
        todo = [json.loads(x) for x in INSTRUCTION.findall(results)]
        made = sum(len(m.tool_calls) for m in turn if isinstance(m, AIMessage)) - 1
        if made >= len(todo):
            return answer(final)
        step = todo[made]
        seen = "\n".join(str(m.content) for m in messages)
        return call(step["tool"], fill_placeholders(step.get("args") or {}, seen))

    return respond


class ScriptedChatModel(BaseChatModel):
    """Plays `script` one step per call (AIMessage, str, Exception or callable); then `default`."""

    script: list[Any] = Field(default_factory=list)
    default: Any = "ok"
    chunk_size: int = 3
    model_name: str = "scripted"
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _index: int = PrivateAttr(default=0)
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, AIMessage]:
        self.bound_tools = [
            getattr(t, "name", None) or t.get("name", "?")
            if isinstance(t, dict)
            else getattr(t, "name", "?")
            for t in tools
        ]
        return self

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        with self._lock:
            self.seen.append(list(messages))
            step = self.script[self._index] if self._index < len(self.script) else self.default
            self._index += 1
        if callable(step) and not isinstance(step, BaseMessage):
            step = step(list(messages))
        if isinstance(step, Exception):
            raise step
        if isinstance(step, str):
            return AIMessage(content=step)
        return step.model_copy(deep=True)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        msg = self._next(messages)
        msg.usage_metadata = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        msg = self._next(messages)
        text = msg.content if isinstance(msg.content, str) else ""
        for i in range(0, len(text), self.chunk_size):
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(content=text[i : i + self.chunk_size], id=msg.id)
            )
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
        tool_chunks = [
            {
                "name": c["name"],
                "args": __import__("json").dumps(c["args"], ensure_ascii=False),
                "id": c["id"],
                "index": i,
                "type": "tool_call_chunk",
            }
            for i, c in enumerate(msg.tool_calls)
        ]
        tool_chunks += [
            {
                "name": c.get("name"),
                "args": c.get("args"),
                "id": c.get("id"),
                "index": len(tool_chunks) + i,
                "type": "tool_call_chunk",
            }
            for i, c in enumerate(msg.invalid_tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                id=msg.id,
                tool_call_chunks=tool_chunks,
                additional_kwargs=msg.additional_kwargs,
                usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
                chunk_position="last",
            )
        )
