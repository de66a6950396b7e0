"""Long conversations: older turns condensed into a summary (langchain's SummarizationMiddleware).

The summary is written in the conversation's language and replaces the older turns in the
thread, so every later prompt carries it; the turns it replaced are handed to `archive` first,
so the page can still show them above the point where they were condensed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain.agents.middleware import SummarizationMiddleware
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AnyMessage, HumanMessage, RemoveMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately, get_buffer_string

from agent_app.agent.async_twins import async_twins
from agent_app.agent.context import AgentContext
from agent_app.agent.model_middleware import emit_usage
from agent_app.prompts import load_prompt
from agent_app.textsafe import truncate
from agent_app.titles import text_lang

log = logging.getLogger(__name__)
Archive = Callable[[str, list[AnyMessage]], None]
"""Called with (thread id, the messages a summary replaced) before they leave the thread."""
SUMMARY_SOURCE = "summarization"
"""`additional_kwargs["lc_source"]` of the summary message langchain's middleware writes."""
FALLBACK_CHARS = 300


def is_summary(message: Any) -> bool:
    """Whether a stored message is a summary of the turns before it."""
    kwargs = getattr(message, "additional_kwargs", None) or {}
    return isinstance(message, HumanMessage) and kwargs.get("lc_source") == SUMMARY_SOURCE


def _language(messages: Sequence[AnyMessage]) -> str:
    asked = " ".join(m.text for m in messages if isinstance(m, HumanMessage) and not is_summary(m))
    return text_lang(asked)


def summarizer(model: BaseChatModel, label: str = "") -> Callable[[list[AnyMessage]], str]:
    """Writes the summary in the conversation's language; a plain digest if the model fails.

    The call's tokens are reported like the answer's, so the user's budget counts them too.
    """

    def summarize(messages: list[AnyMessage]) -> str:
        lang = _language(messages)
        prompt = load_prompt("summary", lang)
        started = time.perf_counter()
        try:
            reply = model.invoke(
                [SystemMessage(content=prompt), HumanMessage(content=get_buffer_string(messages))]
            )
            emit_usage(reply, label, started)
            text = str(reply.text)
        except Exception:  # the turn goes on: the user's own words stand in for the summary
            log.warning("summary not written; keeping a digest of the user's messages")
            text = ""
        if text.strip():
            return text.strip()
        return "\n".join(
            f"- {truncate(m.text, FALLBACK_CHARS, '…')}"
            for m in messages
            if isinstance(m, HumanMessage)
        )

    return summarize


def _tokens(messages: Iterable[Any]) -> int:
    """The estimate the trimming uses too (not scaled by the provider's last reported usage)."""
    return count_tokens_approximately(messages)


@async_twins
class CondenseMiddleware(SummarizationMiddleware):
    """SummarizationMiddleware that archives the turns it condenses before they leave the thread."""

    def __init__(
        self,
        model: BaseChatModel,
        context_tokens: int,
        archive: Archive | None,
        model_label: str = "",
    ) -> None:
        super().__init__(
            model,
            trigger=("tokens", int(context_tokens * 0.75)),
            keep=("tokens", max(1, context_tokens // 3)),
            token_counter=_tokens,
            summarizer=summarizer(model, model_label),
        )
        self.archive = archive

    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Condense when the thread outgrows its budget; the replaced turns go to the archive."""
        update = super().before_model(state, runtime)
        if not update:
            return update
        kept = {m.id for m in update["messages"] if not isinstance(m, RemoveMessage)}
        gone = [m for m in state["messages"] if m.id not in kept]
        ctx = getattr(runtime, "context", None)
        if self.archive is not None and isinstance(ctx, AgentContext) and gone:
            self.archive(ctx.thread_id, gone)
        log.info("condensed %d earlier messages into a summary", len(gone))
        return update
