"""Conversation titles: written by the model after the first answer, or from the first message."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from agent_app.prompts import load_prompt
from agent_app.providers.thinking import ThinkSplitter
from agent_app.textsafe import clean_text, truncate

log = logging.getLogger(__name__)
TITLE_CHARS = 40
"""What the sidebar shows whole; longer titles are cut at a word."""
PROMPT_CHARS = 1500
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Markup a title never needs: Markdown marks, quotes, brackets of tool syntax.
_MARKS = re.compile(r"[*_`#>|\[\]{}<>\"“”‘’「」『』]")
_PREFIX = re.compile(r"^\s*(?:title|标题|题目)\s*[:：]\s*", re.I)
_TOOL_SYNTAX = re.compile(
    r"<\s*/?\s*(?:tool_call|function|tool)\b|\"(?:name|arguments)\"\s*:", re.I
)


def text_lang(text: str) -> str:
    """'zh' when the text is mostly Chinese, else 'en' (the conversation's language, not the UI's)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    return "zh" if len(_CJK.findall(text)) * 3 >= len(letters) else "en"


def _cut(text: str, limit: int = TITLE_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip(" ,.;:，。；：、") + "…"


def heuristic_title(question: str) -> str:
    """A clean title from the first message: its first line, without markup, cut at a word."""
    for line in clean_text(question).splitlines():
        line = _MARKS.sub(" ", line).strip(" -–—:：")
        if line.strip():
            return _cut(line)
    return ""


def clean_model_title(raw: str) -> str:
    """The model's answer as a title; '' when it is not one (thinking only, tool syntax, empty)."""
    splitter = ThinkSplitter()
    parts = splitter.feed(raw or "") + splitter.flush()
    text = "".join(p for kind, p in parts if kind == "token")
    if _TOOL_SYNTAX.search(text):
        return ""
    line = next((ln for ln in clean_text(text).splitlines() if ln.strip()), "")
    line = _MARKS.sub("", _PREFIX.sub("", line)).strip().rstrip("。.!！")
    return _cut(line) if line else ""


def model_title(
    model: BaseChatModel,
    question: str,
    answer: str,
    on_usage: Callable[[int, int], Any] | None = None,
) -> str:
    """Ask the model for a short title in the conversation's language; '' when it gives none.

    `on_usage(input_tokens, output_tokens)` receives the call's token counts when it reports them.
    """
    lang = text_lang(question)
    exchange = (
        f"user: {truncate(question, PROMPT_CHARS)}\nassistant: {truncate(answer, PROMPT_CHARS)}"
    )
    reply = model.invoke(
        [SystemMessage(content=load_prompt("title", lang)), HumanMessage(content=exchange)]
    )
    usage = getattr(reply, "usage_metadata", None) or {}
    if on_usage is not None and usage:
        on_usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
    return clean_model_title(reply.text if isinstance(reply.text, str) else str(reply.content))


class TitleWriter:
    """Writes titles on one background thread, so the answer is never kept waiting for one."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self.pending: dict[str, Future[str]] = {}
        """Titles being written, by conversation id (the page shows the new one when it is done)."""

    def submit(
        self,
        thread_id: str,
        model: Callable[[], BaseChatModel],
        question: str,
        answer: str,
        save: Callable[[str], Any],
        on_usage: Callable[[int, int], Any] | None = None,
    ) -> Future[str]:
        """Write a title for the first exchange and `save` it; the heuristic one stays on failure."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="titles")

        def work() -> str:
            try:
                title = model_title(model(), question, answer, on_usage)
            except Exception:  # a title is a nicety: the first-message title stays
                log.warning("no title from the model", exc_info=True)
                return ""
            if title:
                save(title)
            return title

        future = self._pool.submit(work)
        self.pending[thread_id] = future
        future.add_done_callback(lambda _: self.pending.pop(thread_id, None))
        return future

    def close(self) -> None:
        """Let the titles being written finish."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
