"""ChatService: the one façade the UI and the CLI call."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore
from langgraph.types import Command

from agent_app import events as ev
from agent_app import transcript
from agent_app.agent.branches import Versions, cut_at
from agent_app.agent.cache import AgentCache
from agent_app.agent.thread_state import pending_approvals, stored_messages
from agent_app.auth.accounts import AccountStore
from agent_app.budget import UsageLedger, admission_error, metered
from agent_app.condensed import CondensedTurns
from agent_app.conversations import Conversations
from agent_app.errors import AppError, NotFoundError
from agent_app.i18n import t
from agent_app.images import Image, message_content
from agent_app.memory.service import MemoryService
from agent_app.providers.chat import make_chat_model
from agent_app.settings import Settings
from agent_app.storage.threads import ThreadInfo, ThreadRegistry
from agent_app.textsafe import clean_text
from agent_app.titles import TitleWriter, heuristic_title
from agent_app.turn_runner import ModelFactory, TurnRunner

if TYPE_CHECKING:
    from agent_app.knowledge.ingest import IngestResult
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.server.remote import RemoteTurns
    from agent_app.toolbox.registry import ToolInfo, Toolset

log = logging.getLogger(__name__)
CONTENT_SCAN_LIMIT = 200
"""Thread search reads the messages of at most this many recent conversations."""


def attachment_collection(thread_id: str) -> str:
    """The knowledge-base collection of the files attached in one conversation."""
    return f"chat-{thread_id[:8]}"


class ChatService(Conversations):
    """Conversations, turns and everything the front ends show; built from arguments."""

    def __init__(
        self,
        settings: Settings,
        *,
        registry: ThreadRegistry,
        checkpointer: BaseCheckpointSaver[Any],
        toolset: Toolset,
        store: BaseStore | None = None,
        knowledge: KnowledgeService | None = None,
        model_factory: ModelFactory | None = None,
        accounts: AccountStore | None = None,
        budget: UsageLedger | None = None,
    ) -> None:
        super().__init__(settings, registry)
        self.checkpointer = checkpointer
        self.store = store
        self.toolset = toolset
        """Every tool source with its state; the enabled tools are what the agent gets."""
        self.knowledge = knowledge
        """The knowledge base (None when it is not wired); per user through `knowledge_for`."""
        self.memory: MemoryService | None = MemoryService(store) if store is not None else None
        """Long-term memories over `store` (None when memory is off)."""
        self._factory = model_factory or (lambda choice: make_chat_model(settings, choice))
        self.condensed = CondensedTurns(registry)
        """Turns a summary replaced in the thread, still shown on the page."""
        self.agents = AgentCache(
            settings, self._factory, checkpointer, store, toolset.current, self.condensed.keep
        )
        self.turns: TurnRunner | RemoteTurns
        if settings.backend:  # the server's client is imported only then
            from agent_app.server.remote import RemoteTurns

            self.turns = RemoteTurns(settings, registry)
        else:
            self.turns = TurnRunner(
                settings, self.agents, registry, self.memory, self._factory, budget=budget
            )
        """Runs each turn and records what it leaves (notes, repairs, memories learnt)."""
        self.accounts = accounts
        """Users and sessions (None: no sign-in store wired)."""
        self.budget = budget
        """Per-user budgets and usage; checked before every turn (None: unlimited, uncounted)."""
        self.versions = Versions(registry)
        """Earlier answers of regenerated turns, to flip between."""
        self.titles = TitleWriter()
        """Titles the model writes after a conversation's first answer, in the background."""

    # ---- parts the front ends show ---------------------------------------------------------
    def tools(self) -> list[ToolInfo]:
        """Every tool row (enabled or not, with the reason), as `agent-app tools list` shows it."""
        return list(self.toolset.infos)

    def knowledge_for(self, user_id: str) -> KnowledgeService | None:
        """The knowledge base as this user sees it (None when it is not wired)."""
        return self.knowledge.for_user(user_id) if self.knowledge is not None else None

    def search_threads(self, user_id: str, query: str = "") -> list[ThreadInfo]:
        """Threads whose title matches, then threads whose messages contain the query (newest first)."""
        query = " ".join(query.split())
        if not query:
            return self.list_threads(user_id)
        by_title = self.list_threads(user_id, query)
        seen = {info.id for info in by_title}
        needle = query.casefold()
        by_content = [
            info
            for info in self.list_threads(user_id)[:CONTENT_SCAN_LIMIT]
            if info.id not in seen
            and any(
                needle in (m.get("text") or "").casefold() for m in self.messages(user_id, info.id)
            )
        ]
        return by_title + by_content

    def delete_thread(self, user_id: str, thread_id: str) -> None:
        """Delete the user's conversation: its checkpoints and its registry row."""
        self.get_thread(user_id, thread_id)
        self.checkpointer.delete_thread(thread_id)
        self.registry.delete(user_id, thread_id)

    def messages(self, user_id: str, thread_id: str) -> list[dict[str, Any]]:
        """The stored conversation, each message with its turn notes (usage, sources, failures)."""
        info = self.get_thread(user_id, thread_id)
        earlier = self.condensed.messages(thread_id)
        stored = [*earlier, *stored_messages(self._state_graph(info), thread_id)]
        out = transcript.to_dicts(stored, self.registry.notes(thread_id))
        for d in out[: len(earlier)]:
            d["condensed"] = True  # only in the archive now: shown, not editable
        versions = self.versions.of(thread_id)
        for d in out:
            if d["role"] == "user" and d["id"] in versions:
                d["versions"] = versions[d["id"]]
        return out

    def set_feedback(
        self, user_id: str, thread_id: str, message_id: str, value: str | None
    ) -> None:
        """Thumbs up or down ('up', 'down'; None clears it), stored with the answer's turn notes."""
        self.get_thread(user_id, thread_id)
        notes = dict(self.registry.notes(thread_id).get(message_id) or {})
        notes.pop("feedback", None)
        if value in ("up", "down"):
            notes["feedback"] = value
        self.registry.set_note(thread_id, message_id, notes)

    def attach(
        self, user_id: str, thread_id: str, files: list[tuple[str, bytes]], lang: str | None = None
    ) -> list[IngestResult]:
        """Add documents to the conversation's own collection, which its turns then search."""
        info = self.get_thread(user_id, thread_id)
        kb = self.knowledge_for(user_id)
        if kb is None:
            raise NotFoundError("knowledge base")
        name = attachment_collection(thread_id)
        results = kb.add_files(files, name, lang=lang or self.settings.lang)
        chosen = self.thread_options(info).collections
        if chosen is not None and name not in chosen:  # None already means every collection
            self.set_thread_options(user_id, thread_id, collections=[*chosen, name])
        return results

    def attachment_types(self) -> list[str]:
        """File extensions `attach` takes (none when the knowledge base is not wired)."""
        if self.knowledge is None:
            return []
        from agent_app.knowledge.sniff import EXTENSIONS

        return sorted(ext.lstrip(".") for ext in EXTENSIONS)

    def show_version(self, user_id: str, thread_id: str, message_id: str, index: int) -> bool:
        """Make answer version `index` of the last turn the current one (the thread goes on from it)."""
        info = self.get_thread(user_id, thread_id)
        return self.versions.show(self._state_graph(info), thread_id, message_id, index)

    def export_thread(self, user_id: str, thread_id: str, fmt: str = "md") -> str:
        """The conversation as Markdown (`md`) or JSON (`json`)."""
        msgs = self.messages(user_id, thread_id)
        info = self.get_thread(user_id, thread_id)
        if fmt == "json":
            return transcript.to_json(info.title, thread_id, msgs)
        return transcript.to_markdown(info.title, msgs)

    def pending_approvals(self, user_id: str, thread_id: str) -> list[ev.ApprovalRequired]:
        """Tool calls waiting for consent (they survive reloads: they live in the checkpoint)."""
        return pending_approvals(self._state_graph(self.get_thread(user_id, thread_id)), thread_id)

    # ---- turns ---------------------------------------------------------------------------
    def stream(
        self,
        thread_id: str,
        text: str,
        *,
        user_id: str,
        stop: threading.Event | None = None,
        lang: str | None = None,
        images: Sequence[Image] = (),
    ) -> Iterator[ev.Event]:
        """Run one turn: the user's text (and images) in, events out; ends with `done` or `error`."""
        lang = lang or self.settings.lang
        problem = self.check_input(text, lang)
        if problem is not None:
            yield problem
            return
        info = self._admitted(user_id, thread_id, lang)
        if isinstance(info, ev.Error):  # not theirs, or over budget: no provider request
            yield info
            return
        content = message_content(clean_text(text), list(images))
        message = HumanMessage(content=content, id=str(uuid.uuid4()))
        self.registry.touch(user_id, thread_id, title_if_empty=heuristic_title(message.text))
        payload = {"messages": [message]}
        answer = yield from self._run(info, payload, user_id, stop, lang, vision=bool(images))
        if answer is not None:
            self.turns.extract(info, self.thread_options(info), user_id, (message, answer), lang)
            self._title(info, user_id, answer)

    def retry(
        self,
        thread_id: str,
        *,
        user_id: str,
        stop: threading.Event | None = None,
        lang: str | None = None,
    ) -> Iterator[ev.Event]:
        """Answer the last user message again without storing it twice."""
        lang = lang or self.settings.lang
        info = self._admitted(user_id, thread_id, lang)
        if isinstance(info, ev.Error):  # not theirs, or over budget: no provider request
            yield info
            return
        asked = [m for m in self.messages(user_id, thread_id) if m["role"] == "user"]
        vision = bool(asked and asked[-1].get("images"))
        answer = yield from self._run(info, {"messages": []}, user_id, stop, lang, vision=vision)
        if answer is not None:
            self._title(info, user_id, answer)

    def regenerate(
        self,
        thread_id: str,
        *,
        user_id: str,
        stop: threading.Event | None = None,
        lang: str | None = None,
    ) -> Iterator[ev.Event]:
        """Answer the last user message anew; the earlier answer is kept as a version."""
        lang = lang or self.settings.lang
        info = self._admitted(user_id, thread_id, lang)
        if isinstance(info, ev.Error):  # not theirs, or over budget: no provider request
            yield info
            return
        graph = self._state_graph(info)
        try:
            asked = self.versions.set_aside(graph, thread_id)
        except AppError as err:  # the LangGraph Server backend is unreachable: nothing changed
            yield ev.Error(err.kind, err.user_message(lang))
            return
        answer = yield from self._run(info, {"messages": []}, user_id, stop, lang)
        if answer is not None and asked is not None:
            self.versions.add_current(graph, thread_id, str(asked.id))

    def edit_and_resend(
        self,
        thread_id: str,
        message_id: str,
        text: str,
        *,
        user_id: str,
        stop: threading.Event | None = None,
        lang: str | None = None,
    ) -> Iterator[ev.Event]:
        """Replace a user message by `text`: what followed it goes, the conversation goes on from it."""
        lang = lang or self.settings.lang
        problem = self.check_input(text, lang)
        info = self._thread_or_error(user_id, thread_id, lang)
        if problem is not None or isinstance(info, ev.Error):
            yield problem or info  # type: ignore[misc]
            return
        try:
            found = cut_at(self._state_graph(info), thread_id, message_id)
        except AppError as err:  # a LangGraph Server backend that cannot be reached
            yield ev.Error(err.kind, err.user_message(lang))
            return
        if not found:
            yield ev.Error("not_found", t("error.not_found", lang))
            return
        yield from self.stream(thread_id, text, user_id=user_id, stop=stop, lang=lang)

    def resume(
        self,
        thread_id: str,
        decisions: list[dict[str, Any]],
        *,
        user_id: str,
        lang: str | None = None,
    ) -> Iterator[ev.Event]:
        """Continue a paused turn with approval decisions ({'type': 'approve'|'reject'|'edit', …})."""
        lang = lang or self.settings.lang
        info = self._admitted(user_id, thread_id, lang)
        if isinstance(info, ev.Error):  # not theirs, or over budget: no provider request
            yield info
            return
        yield from self._run(info, Command(resume={"decisions": decisions}), user_id, None, lang)

    def _admitted(self, user_id: str, thread_id: str, lang: str) -> ThreadInfo | ev.Error:
        """The user's conversation, or why no turn may run on it now (unknown, over budget)."""
        info = self._thread_or_error(user_id, thread_id, lang)
        if isinstance(info, ev.Error):
            return info
        return admission_error(self.budget, user_id, lang) or info

    def warm(self, info: ThreadInfo | None, lang: str | None = None) -> threading.Thread:
        """Prepare, in the background, what the next turn of this conversation needs (its agent)."""
        options, code = self.thread_options(info), lang or self.settings.lang
        worker = threading.Thread(
            target=self.turns.warm, args=(options, code), name="warm-agent", daemon=True
        )
        worker.start()
        return worker

    def title_pending(self, thread_id: str) -> bool:
        """Whether the model is still writing this conversation's title."""
        return thread_id in self.titles.pending

    def _title(self, info: ThreadInfo, user_id: str, answer: AIMessage) -> None:
        """After the first answer, have the model title the conversation (in the background)."""
        options = self.thread_options(info)
        if not self.settings.title_model or options.provider == "offline":
            return  # the first message's title stays
        budget = self.budget
        if budget is not None and not budget.may_extract(user_id):
            return  # no background provider call once the user's day is spent
        asked = [m for m in stored_messages(self._state_graph(info), info.id) if m.type == "human"]
        current = self.registry.get(user_id, info.id)
        if len(asked) != 1 or current is None or current.title != heuristic_title(asked[0].text):
            return  # not the first exchange, or the user has named it
        choice = replace(options.model_choice(), thinking=False)
        self.titles.submit(
            info.id,
            lambda: self._factory(choice),
            asked[0].text,
            answer.text,
            lambda title: self.registry.retitle(user_id, info.id, current.title, title),
            None if budget is None else partial(budget.record_tokens, user_id),
        )

    def _run(
        self,
        info: ThreadInfo,
        payload: Any,
        user_id: str,
        stop: threading.Event | None,
        lang: str,
        *,
        vision: bool = False,
    ) -> Generator[ev.Event, None, AIMessage | None]:
        """One metered graph run on the thread's agent; returns the answer when it ended with done."""
        options = self.thread_options(info)
        run = self.turns.run(
            info, options, payload, user_id=user_id, stop=stop, lang=lang, vision=vision
        )
        return (yield from metered(run, self.budget, user_id))

    def _state_graph(self, info: ThreadInfo) -> Any:
        """The cached agent a thread's turns run on, to read its state through the graph's API."""
        return self.turns.state_graph(self.thread_options(info))

    @property
    def last_extraction(self) -> Future[Any] | None:
        """The most recent background memory extraction (tests and the CLI wait on it)."""
        return self.turns.last_extraction

    def close(self) -> None:
        """Close what open_service opened: the knowledge base, the memory store, the databases."""
        self.titles.close()
        self.toolset.close()
        for part in (self.knowledge, self.store, self.accounts, self.budget):
            closer = getattr(part, "close", None)
            if callable(closer):
                closer()
        conn = getattr(self.checkpointer, "conn", None)
        if conn is not None:
            conn.close()
        super().close()
