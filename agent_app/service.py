"""ChatService: the one façade the UI and the CLI call (DESIGN §1–2)."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from langgraph.types import Command

from agent_app import events as ev
from agent_app import transcript
from agent_app.agent.cache import AgentCache
from agent_app.agent.context import AgentContext, TurnState
from agent_app.agent.history_middleware import repair_dangling
from agent_app.agent.runner import TurnStream
from agent_app.errors import AppError, NotFoundError
from agent_app.i18n import t
from agent_app.providers.chat import ModelChoice, default_choice, make_chat_model
from agent_app.providers.models import prepare_choice
from agent_app.settings import Settings
from agent_app.storage.threads import ThreadInfo, ThreadRegistry
from agent_app.textsafe import clean_text

log = logging.getLogger(__name__)


ModelFactory = Callable[[ModelChoice], BaseChatModel]


class ChatService:
    """Conversations, turns and everything the front ends show; built from arguments."""

    def __init__(
        self,
        settings: Settings,
        *,
        registry: ThreadRegistry,
        checkpointer: BaseCheckpointSaver,
        store: BaseStore | None = None,
        tools: Sequence[BaseTool] = (),
        model_factory: ModelFactory | None = None,
        extras: dict[str, Any] | None = None,
    ) -> None:
        self.settings, self.registry, self.checkpointer, self.store = settings, registry, checkpointer, store
        self.tools = list(tools)
        self._factory = model_factory or (lambda choice: make_chat_model(settings, choice))
        self.agents = AgentCache(settings, self._factory, checkpointer, store, self.tools)
        self.extras = extras or {}
        self._extractors: dict[str, Any] = {}
        self.last_extraction: Any = None

    @property
    def memory(self) -> Any:
        """The MemoryService over this app's store (None when memory is off)."""
        if self.store is None:
            return None
        from agent_app.memory.service import MemoryService

        return MemoryService(self.store)

    @property
    def knowledge(self) -> Any:
        return self.extras.get("knowledge")

    # ---- threads -------------------------------------------------------------------------
    def new_thread(self, user_id: str, title: str = "", options: dict[str, Any] | None = None) -> ThreadInfo:
        return self.registry.create(user_id, title, options)

    def list_threads(self, user_id: str, query: str = "") -> list[ThreadInfo]:
        return self.registry.list(user_id, query)

    def get_thread(self, user_id: str, thread_id: str) -> ThreadInfo:
        info = self.registry.get(user_id, thread_id)
        if info is None:  # unknown, or someone else's: the same answer (B13)
            raise NotFoundError(thread_id)
        return info

    def rename_thread(self, user_id: str, thread_id: str, title: str) -> None:
        if not self.registry.rename(user_id, thread_id, title):
            raise NotFoundError(thread_id)

    def delete_thread(self, user_id: str, thread_id: str) -> None:
        self.get_thread(user_id, thread_id)
        self.checkpointer.delete_thread(thread_id)
        self.registry.delete(user_id, thread_id)

    def set_thread_options(self, user_id: str, thread_id: str, **options: Any) -> dict[str, Any]:
        info = self.get_thread(user_id, thread_id)
        merged = {**info.options, **{k: v for k, v in options.items() if v is not None}}
        self.registry.set_options(user_id, thread_id, merged)
        return merged

    def messages(self, user_id: str, thread_id: str) -> list[dict[str, Any]]:
        self.get_thread(user_id, thread_id)
        return transcript.to_dicts(self._stored_messages(thread_id))

    def export_thread(self, user_id: str, thread_id: str, fmt: str = "md") -> str:
        info = self.get_thread(user_id, thread_id)
        msgs = transcript.to_dicts(self._stored_messages(thread_id))
        if fmt == "json":
            return transcript.to_json(info.title, thread_id, msgs)
        return transcript.to_markdown(info.title, msgs)

    def pending_approvals(self, user_id: str, thread_id: str) -> list[ev.ApprovalRequired]:
        """Tool calls waiting for consent (they survive reloads: they live in the checkpoint)."""
        self.get_thread(user_id, thread_id)
        tup = self.checkpointer.get_tuple(self._config(thread_id))
        out: list[ev.ApprovalRequired] = []
        for _task_id, _channel, value in (tup.pending_writes if tup else []) or []:
            if _channel != "__interrupt__":
                continue
            for intr in value if isinstance(value, list) else [value]:
                payload = getattr(intr, "value", {}) or {}
                for req in payload.get("action_requests", []):
                    out.append(ev.ApprovalRequired(req.get("id", ""), req.get("name", ""), req.get("args") or {}))
        return out

    # ---- preferences ---------------------------------------------------------------------
    def get_prefs(self, user_id: str) -> dict[str, Any]:
        return self.registry.get_prefs(user_id)

    def set_prefs(self, user_id: str, **prefs: Any) -> None:
        self.registry.set_prefs(user_id, {**self.registry.get_prefs(user_id), **prefs})

    # ---- turns ---------------------------------------------------------------------------
    def stream(self, thread_id: str, text: str, *, user_id: str, stop: threading.Event | None = None,
               lang: str | None = None) -> Iterator[ev.Event]:
        """Run one turn: the user's text in, events out; ends with `done` or `error`."""
        lang = lang or self.settings.lang
        problem = self._check_input(text, lang)
        if problem is not None:
            yield problem
            return
        info = self._thread_or_error(user_id, thread_id, lang)
        if isinstance(info, ev.Error):
            yield info
            return
        message = HumanMessage(content=clean_text(text), id=str(uuid.uuid4()))
        self.registry.touch(user_id, thread_id, title_if_empty=message.text[:80])
        for event in self._run(info, {"messages": [message]}, user_id, stop, lang):
            yield event
            if isinstance(event, ev.Done):
                self._extract(info, user_id, message, event.message_id, lang)

    def retry(self, thread_id: str, *, user_id: str, stop: threading.Event | None = None,
              lang: str | None = None) -> Iterator[ev.Event]:
        """Answer the last user message again without storing it twice."""
        lang = lang or self.settings.lang
        info = self._thread_or_error(user_id, thread_id, lang)
        if isinstance(info, ev.Error):
            yield info
            return
        yield from self._run(info, {"messages": []}, user_id, stop, lang)

    def resume(self, thread_id: str, decisions: list[dict[str, Any]], *, user_id: str,
               lang: str | None = None) -> Iterator[ev.Event]:
        """Continue a paused turn with approval decisions ({'type': 'approve'|'reject'|'edit', …})."""
        lang = lang or self.settings.lang
        info = self._thread_or_error(user_id, thread_id, lang)
        if isinstance(info, ev.Error):
            yield info
            return
        yield from self._run(info, Command(resume={"decisions": decisions}), user_id, None, lang)

    def _thread_or_error(self, user_id: str, thread_id: str, lang: str) -> ThreadInfo | ev.Error:
        try:
            return self.get_thread(user_id, thread_id)
        except AppError as err:
            return ev.Error(err.kind, err.user_message(lang))

    def _check_input(self, text: str, lang: str) -> ev.Error | None:
        if not text or not text.strip():
            return ev.Error("empty_input", t("error.empty_input", lang))
        if len(text) > self.settings.max_input_chars:
            return ev.Error("input_rejected", t("error.input_too_long", lang, size=len(text), limit=self.settings.max_input_chars))
        return None

    def _run(self, info: ThreadInfo, payload: Any, user_id: str, stop: threading.Event | None,
             lang: str) -> Iterator[ev.Event]:
        try:
            choice = prepare_choice(self.settings, default_choice(self.settings, info.options))
            agent = self.agents.get(choice, lang, info.options)
        except AppError as err:
            yield ev.Error(err.kind, err.user_message(lang))
            return
        for notice in choice.notices:
            yield ev.Notice("model", notice)
        turn = TurnState()
        turn.deadline += self.settings.turn_deadline_s - 180.0
        ctx = AgentContext(user_id=user_id, thread_id=info.id, lang=lang, turn=turn,
                           collections=tuple(info.options.get("collections") or ()))
        config = {**self._config(info.id), "recursion_limit": self.settings.recursion_limit}
        runner = TurnStream(agent, payload, config, ctx, stop, self.settings.checkpoint_durability)
        yield from runner
        yield from self._finish(info, runner, user_id, lang)

    def _finish(self, info: ThreadInfo, runner: TurnStream, user_id: str, lang: str) -> Iterator[ev.Event]:
        if runner.paused:
            return
        if runner.error is not None or runner.stopped:
            self._after_failure(info.id, runner)
            if runner.stopped:
                yield ev.Error("stopped", t("error.stopped", lang), partial=bool(runner.answer_parts))
            else:
                err = runner.error
                assert err is not None
                yield ev.Error(err.kind, err.user_message(lang), partial=runner.context.turn.streamed)
            return
        last = runner.last_ai
        if last is None or (not runner.answer_parts and not last.tool_calls):
            yield ev.Error("empty_answer", t("error.empty_answer", lang))
            return
        yield ev.Done(message_id=str(last.id or ""), thread_id=info.id)

    def _extract(self, info: ThreadInfo, user_id: str, message: HumanMessage, answer_id: str, lang: str) -> None:
        """Queue background memory extraction for the finished turn (never delays the answer)."""
        if self.store is None or not self.settings.memory_extract:
            return
        try:
            choice = default_choice(self.settings, info.options)
            if choice.provider == "offline":
                return
            extractor = self._extractors.get(choice.label)
            if extractor is None:
                from agent_app.memory.extract import MemoryExtractor

                extractor = self._extractors[choice.label] = MemoryExtractor(self.memory, self._factory(choice), lang=lang)
            answer = next((m for m in reversed(self._stored_messages(info.id)) if isinstance(m, AIMessage)), None)
            turn = [message] + ([answer] if answer is not None else [])
            self.last_extraction = extractor.submit(user_id, turn, thread_id=info.id, message_id=message.id)
        except AppError:
            log.warning("memory extraction not started", exc_info=True)

    def _after_failure(self, thread_id: str, runner: TurnStream) -> None:
        """Leave a usable thread: no dangling tool call; blocked input is not kept (A5, A17)."""
        config = self._config(thread_id)
        messages = self._stored_messages(thread_id)
        if runner.error is not None and runner.error.kind == "content_filtered" and not runner.context.turn.streamed:
            idx = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=None)
            if idx is not None:
                self._graph_for_state().update_state(config, {"messages": [RemoveMessage(id=m.id) for m in messages[idx:] if m.id]})
            return
        fixed = repair_dangling(messages, t("tool.not_executed", runner.context.lang))
        if fixed is not None:
            from langgraph.graph.message import REMOVE_ALL_MESSAGES

            self._graph_for_state().update_state(config, {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES), *fixed]})

    # ---- plumbing ------------------------------------------------------------------------
    @staticmethod
    def _config(thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}}

    def _stored_messages(self, thread_id: str) -> list[AnyMessage]:
        tup = self.checkpointer.get_tuple(self._config(thread_id))
        if tup is None:
            return []
        return list(tup.checkpoint.get("channel_values", {}).get("messages", []))

    def _graph_for_state(self) -> Any:
        return self.agents.for_state()

    def close(self) -> None:
        """Close what open_service opened: the knowledge base, the memory store, the databases."""
        for part in (self.extras.get("knowledge"), self.store):
            closer = getattr(part, "close", None)
            if callable(closer):
                closer()
        conn = getattr(self.checkpointer, "conn", None)
        if conn is not None:
            conn.close()
        self.registry.close()


def check_environment() -> None:
    """Start-up assertions that do not depend on the provider (RELIABILITY E12)."""
    if os.environ.get("LANGCHAIN_ENV", "").lower().startswith("local"):
        log.warning("LANGCHAIN_ENV=local* is not allowed in production; ignoring it")
        os.environ.pop("LANGCHAIN_ENV", None)
