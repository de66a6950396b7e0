"""A built-in chat model used when no provider is configured: it explains how to add one."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable

from agent_app.i18n import LANGS, t


def _turn_lang() -> str | None:
    """The language of the turn being answered (the UI's), when called inside a graph run."""
    try:
        from langgraph.runtime import get_runtime

        lang = getattr(get_runtime().context, "lang", None)
    except (RuntimeError, KeyError, AttributeError):  # called outside a graph run
        return None
    return lang if lang in LANGS else None


class OfflineChatModel(BaseChatModel):
    """Answers every message with the localized 'configure a model' notice; never calls tools."""

    lang: str = "zh"

    @property
    def _llm_type(self) -> str:
        return "agent-app-offline"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[Any, AIMessage]:
        """Accept tools and ignore them: the offline model never calls one."""
        return self

    def _answer(self) -> str:
        return t("offline.answer", _turn_lang() or self.lang)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._answer()))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        words = self._answer().split(" ")
        for i, piece in enumerate(words):
            tail = " " if i < len(words) - 1 else ""
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece + tail))
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
