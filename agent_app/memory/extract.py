"""Automatic memory extraction after a turn, in a background thread so that it never delays the answer."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent_app.errors import AppError, NotFoundError
from agent_app.memory.service import MemoryService, clean_memory_text
from agent_app.prompts import load_prompt
from agent_app.textsafe import truncate

log = logging.getLogger(__name__)
MAX_FACTS = 5
MAX_FACT_CHARS = 300
TURN_MESSAGES = 6
MESSAGE_CHARS = 2000
_THINK = re.compile(r"<think>.*?</think>", re.S)
# Secrets must never become memories (they would be put into later prompts).
_SECRET = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}|\b[A-Za-z0-9+/_\-]{32,}\b")


def _transcript(messages: Sequence[BaseMessage]) -> str:
    lines = []
    for message in list(messages)[-TURN_MESSAGES:]:
        role = "user" if isinstance(message, HumanMessage) else "assistant"
        if isinstance(message, HumanMessage | AIMessage) and (text := message.text.strip()):
            lines.append(f"{role}: {truncate(text, MESSAGE_CHARS)}")
    return "\n".join(lines)


def parse_updates(raw: str, known_ids: set[str]) -> list[dict[str, str | None]]:
    """The model's JSON array as [{text, replaces}]; anything malformed yields []."""
    text = _THINK.sub("", raw or "")
    start, end = text.find("["), text.rfind("]")
    try:
        data = json.loads(text[start : end + 1]) if 0 <= start < end else None
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    updates: list[dict[str, str | None]] = []
    for entry in data[:MAX_FACTS]:
        fact, replaces = (
            (entry, None)
            if isinstance(entry, str)
            else (
                (entry.get("text"), entry.get("replaces"))
                if isinstance(entry, dict)
                else (None, None)
            )
        )
        if not isinstance(fact, str) or _SECRET.search(fact):
            continue
        try:
            fact = clean_memory_text(fact, MAX_FACT_CHARS)
        except AppError:
            continue
        updates.append({"text": fact, "replaces": replaces if replaces in known_ids else None})
    return updates


class ExtractionBudget(Protocol):
    """Where extraction's own model calls are admitted and counted (the usage ledger)."""

    def may_extract(self, user_id: str) -> bool:
        """Whether the user has tokens left today for a background call."""
        ...

    def record_tokens(self, user_id: str, input_tokens: int, output_tokens: int) -> None:
        """Add a background call's tokens to the user's day (not a turn)."""
        ...


def extract_memory_updates(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    existing: Sequence[dict[str, Any]],
    lang: str = "zh",
    on_usage: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, str | None]]:
    """Ask the model for durable facts about the user; [{text, replaces}] — never raises.

    `on_usage` receives the reply's token counts (LangChain's usage_metadata) when it has them.
    """
    conversation = _transcript(messages)
    if not conversation:
        return []
    known = "\n".join(f"- [{m['id']}] {m['text']}" for m in existing) or "-"
    system = load_prompt("memory_extract", lang).replace("{existing}", known)
    try:
        reply = model.invoke([SystemMessage(system), HumanMessage(conversation)])
    except Exception as exc:  # extraction is best effort: a failing model stores nothing
        # No traceback: a provider error may echo request headers (the key) into its text.
        log.warning("memory extraction: model call failed: %s", type(exc).__name__)
        return []
    usage = getattr(reply, "usage_metadata", None)
    if on_usage is not None and usage:
        on_usage(dict(usage))
    return parse_updates(
        getattr(reply, "text", "") or str(reply.content), {str(m["id"]) for m in existing}
    )


def extract_memories(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    existing: Sequence[dict[str, Any]],
    lang: str = "zh",
) -> list[str]:
    """Just the fact texts of extract_memory_updates."""
    return [str(u["text"]) for u in extract_memory_updates(model, messages, existing, lang)]


class MemoryExtractor:
    """Runs extraction after turns on one background worker; submit() returns at once."""

    def __init__(
        self,
        service: MemoryService,
        model: BaseChatModel,
        *,
        lang: str = "zh",
        enabled: bool = True,
        max_pending: int = 8,
        known_limit: int = 50,
        budget: ExtractionBudget | None = None,
    ) -> None:
        self.service, self.model, self.lang, self.enabled = service, model, lang, enabled
        self.budget = budget
        """The user's tokens pay for extraction too; with none left today it does not run."""
        self.max_pending, self.known_limit = max_pending, known_limit
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-extract")
        self._pending: set[Future[list[dict[str, Any]]]] = set()
        self._lock = threading.Lock()

    def submit(
        self,
        user_id: str,
        messages: Sequence[BaseMessage],
        *,
        thread_id: str | None = None,
        message_id: str | None = None,
        suggested: bool = False,
    ) -> Future[list[dict[str, Any]]] | None:
        """Queue extraction for a finished turn; None when disabled or too much is queued.

        `suggested`: the turn read untrusted text, so what is learnt waits for the user's confirmation.
        """
        if not self.enabled:
            return None
        with self._lock:
            if (
                len(self._pending) >= self.max_pending
            ):  # under load, skipping is better than piling up
                log.warning(
                    "memory extraction skipped: %d turns already queued", len(self._pending)
                )
                return None
            future = self._pool.submit(
                self.run, user_id, list(messages), thread_id, message_id, suggested
            )
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[list[dict[str, Any]]]) -> None:
        with self._lock:
            self._pending.discard(future)

    def run(
        self,
        user_id: str,
        messages: Sequence[BaseMessage],
        thread_id: str | None = None,
        message_id: str | None = None,
        suggested: bool = False,
    ) -> list[dict[str, Any]]:
        """Extract and store (synchronously); returns the stored/updated memories; never raises."""
        try:
            budget = self.budget
            if budget is not None and not budget.may_extract(user_id):
                log.info("memory extraction skipped: the user's daily token budget is spent")
                return []
            existing = self.service.list(user_id, limit=self.known_limit)

            def count(usage: dict[str, Any]) -> None:
                if budget is not None:
                    budget.record_tokens(
                        user_id,
                        int(usage.get("input_tokens") or 0),
                        int(usage.get("output_tokens") or 0),
                    )

            updates = extract_memory_updates(self.model, messages, existing, self.lang, count)
            return [self._store(user_id, u, thread_id, message_id, suggested) for u in updates]
        except Exception:
            log.warning("memory extraction failed", exc_info=True)
            return []

    def _store(
        self,
        user_id: str,
        update: dict[str, Any],
        thread_id: str | None,
        message_id: str | None,
        suggested: bool = False,
    ) -> dict[str, Any]:
        if update.get("replaces") and not suggested:  # a suggestion never rewrites a memory
            try:  # a contradiction replaces the old fact; its text stays in the history
                return self.service.update(
                    user_id, update["replaces"], update["text"], reason="contradicted"
                )
            except NotFoundError:
                pass  # deleted meanwhile: store as a new fact
        return self.service.add(
            user_id,
            update["text"],
            source_thread=thread_id,
            source_message=message_id,
            kind="extracted",
            suggested=suggested,
        )

    def wait(self, timeout: float | None = None) -> None:
        """Block until queued extractions finished (tests, shutdown)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.exception(timeout=timeout)

    def close(self) -> None:
        """Stop the background worker, dropping extractions not yet started."""
        self._pool.shutdown(wait=True, cancel_futures=True)
