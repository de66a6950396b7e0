"""TurnRunner: one graph run on a conversation's agent, and what a finished turn leaves behind."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import Command

from agent_app import events as ev
from agent_app.agent import repair
from agent_app.agent.cache import AgentCache
from agent_app.agent.context import AgentContext, TurnState
from agent_app.agent.taint import turn_sources
from agent_app.agent.thread_state import stored_messages, thread_config
from agent_app.agent.turn import TurnStream
from agent_app.errors import AppError, DatabaseUnavailableError, is_database_error
from agent_app.i18n import t
from agent_app.images import ImageRejectedError
from agent_app.memory.service import MemoryService
from agent_app.providers.choice import ModelChoice, parse_model_spec
from agent_app.providers.models import prepare_choice
from agent_app.settings import Settings
from agent_app.storage.threads import ThreadInfo, ThreadRegistry
from agent_app.thread_options import ThreadOptions
from agent_app.turn_notes import PAUSED, TurnNotes, failure

if TYPE_CHECKING:
    from agent_app.budget import UsageLedger
    from agent_app.memory.extract import MemoryExtractor

log = logging.getLogger(__name__)
ModelFactory = Callable[[ModelChoice], BaseChatModel]


class TurnRunner:
    """Runs turns for ChatService: stream the graph, end with done or error, keep notes, learn."""

    def __init__(
        self,
        settings: Settings,
        agents: AgentCache,
        registry: ThreadRegistry,
        memory: MemoryService | None,
        factory: ModelFactory,
        budget: UsageLedger | None = None,
    ) -> None:
        self.settings, self.agents, self.registry = settings, agents, registry
        self.memory, self.factory = memory, factory
        self.budget = budget
        """Extraction's model calls are counted to the user here (and skipped once the day is spent)."""
        self._extractors: dict[str, MemoryExtractor] = {}
        self.last_extraction: Future[Any] | None = None
        """The most recent background memory extraction (tests and the CLI wait on it)."""

    def _context(
        self, info: ThreadInfo, options: ThreadOptions, user_id: str, lang: str
    ) -> tuple[AgentContext, RunnableConfig]:
        """What one run of the thread's agent is given: who, where, its deadline, its limits."""
        turn = TurnState()
        turn.deadline += self.settings.turn_deadline_s - 180.0
        ctx = AgentContext(
            user_id=user_id,
            thread_id=info.id,
            lang=lang,
            turn=turn,
            collections=options.collections,
        )
        config: RunnableConfig = {
            **thread_config(info.id),
            "recursion_limit": self.settings.recursion_limit,
        }
        return ctx, config

    def run(
        self,
        info: ThreadInfo,
        options: ThreadOptions,
        payload: Any,
        *,
        user_id: str,
        stop: threading.Event | None,
        lang: str,
        vision: bool = False,
    ) -> Generator[ev.Event, None, AIMessage | None]:
        """One graph run on the thread's agent; returns the answer when the turn ended with `done`.

        `vision`: the turn's message has images; a model that cannot see hands the turn to the
        configured vision model (with a notice), and the next turn is the conversation's own again.
        """
        try:
            choice = prepare_choice(self.settings, options.model_choice())
            if vision and not choice.vision:
                choice = self._vision_choice(choice, lang)
            agent = self.agents.get(choice, lang, options)
        except AppError as err:
            yield ev.Error(err.kind, err.user_message(lang))
            return None
        # A resumed turn keeps what it gathered before its pause (sources, usage…).
        resumed = isinstance(payload, Command)
        notes = TurnNotes.carried(self.registry.notes(info.id).get(PAUSED) if resumed else None)
        for notice in choice.notices:
            notes.take(ev.Notice("model", notice))
            yield ev.Notice("model", notice)
        ctx, config = self._context(info, options, user_id, lang)
        runner = TurnStream(agent, payload, config, ctx, stop, self.settings.checkpoint_durability)
        for event in runner:
            notes.take(event)
            yield event
        try:
            outcome = self._finish(info, runner, lang)
            if outcome is None:  # paused for approval: the turn goes on after resume
                self.registry.set_note(info.id, PAUSED, notes.as_dict())
                return None
            self._keep_notes(info, runner, outcome, notes, fresh=_new_message(payload))
            if resumed:
                self.registry.set_note(info.id, PAUSED, {})
        except Exception as exc:  # the database went away mid-turn: say so, keep nothing half-done
            if not (is_database_error(exc) or isinstance(exc, DatabaseUnavailableError)):
                raise
            down = DatabaseUnavailableError(type(exc).__name__)
            yield ev.Error(down.kind, down.user_message(lang))
            return None
        yield outcome
        return runner.last_ai if isinstance(outcome, ev.Done) else None

    def _vision_choice(self, own: ModelChoice, lang: str) -> ModelChoice:
        """The configured vision model for this turn; a clear error when there is none."""
        spec = self.settings.vision_model
        if not spec:
            raise ImageRejectedError("no vision model", key="error.image_needs_model")
        default = own.provider
        if default == "offline":
            default = "dashscope" if self.settings.dashscope_api_key else "ollama"
        provider, model = parse_model_spec(spec, default)
        choice = prepare_choice(self.settings, ModelChoice(provider, model))
        choice.vision = True  # the operator named it as the one that sees
        choice.notices.append(t("notice.vision_model", lang, model=own.model, vision=model))
        return choice

    def _finish(self, info: ThreadInfo, runner: TurnStream, lang: str) -> ev.Event | None:
        """The turn's last event: done, or the error that ended it (None while paused)."""
        if runner.paused:
            return None
        if runner.error is not None or runner.stopped:
            self._after_failure(info.id, runner)
            if runner.stopped:
                return ev.Error(
                    "stopped", t("error.stopped", lang), partial=bool(runner.answer_parts)
                )
            err = runner.error
            assert err is not None
            return ev.Error(err.kind, err.user_message(lang), partial=runner.context.turn.streamed)
        last = runner.last_ai
        if last is None or (not runner.answer_parts and not last.tool_calls):
            return ev.Error("empty_answer", t("error.empty_answer", lang))
        return ev.Done(message_id=str(last.id or ""), thread_id=info.id)

    def _keep_notes(
        self,
        info: ThreadInfo,
        runner: TurnStream,
        outcome: ev.Event,
        notes: TurnNotes,
        *,
        fresh: bool = False,
    ) -> None:
        """Store the turn's notes with its answer, or a failure mark on its user message.

        `fresh`: the turn began with a new user message, which has no failure mark to clear, so
        an answered turn need not read the conversation back.
        """
        if fresh and isinstance(outcome, ev.Done) and outcome.message_id:
            self.registry.set_note(info.id, outcome.message_id, notes.as_dict())
            return
        stored = stored_messages(runner.agent, info.id)
        asked = next((m for m in reversed(stored) if isinstance(m, HumanMessage)), None)
        if isinstance(outcome, ev.Done) and outcome.message_id:
            self.registry.set_note(info.id, outcome.message_id, notes.as_dict())
            if asked is not None and asked.id:  # a retry that answered clears the failure mark
                self.registry.set_note(info.id, asked.id, {})
        elif isinstance(outcome, ev.Error) and asked is not None and asked.id:
            partial = "".join(runner.answer_parts) if outcome.kind == "stopped" else ""
            self.registry.set_note(info.id, asked.id, failure(outcome, partial))

    def _after_failure(self, thread_id: str, runner: TurnStream) -> None:
        """Leave a usable thread: no dangling tool call; input the provider blocked is not kept."""
        if (
            runner.error is not None
            and runner.error.kind == "content_filtered"
            and not runner.context.turn.streamed
        ):
            repair.drop_last_input(runner.agent, thread_id)
            return
        repair.answer_dangling_calls(
            runner.agent, thread_id, t("tool.not_executed", runner.context.lang)
        )

    def extract(
        self,
        info: ThreadInfo,
        options: ThreadOptions,
        user_id: str,
        turn: tuple[HumanMessage, AIMessage],
        lang: str,
    ) -> None:
        """Queue background memory extraction for the finished turn (never delays the answer)."""
        if self.memory is None or not self.settings.memory_extract:
            return
        try:
            choice = options.model_choice()
            if choice.provider == "offline":
                return
            extractor = self._extractors.get(choice.label)
            if extractor is None:
                from agent_app.memory.extract import MemoryExtractor

                extractor = self._extractors[choice.label] = MemoryExtractor(
                    self.memory, self.factory(choice), lang=lang, budget=self.budget
                )
            # An answer written after untrusted text may repeat its orders: learn from it only as a suggestion.
            tainted = bool(turn_sources(stored_messages(self.state_graph(options), info.id)))
            self.last_extraction = extractor.submit(
                user_id,
                list(turn),
                thread_id=info.id,
                message_id=turn[0].id,
                suggested=tainted,
            )
        except AppError:
            log.warning("memory extraction not started", exc_info=True)

    def warm(self, options: ThreadOptions, lang: str) -> None:
        """Build the agent a turn with these options will run on, and load a local embedding model."""
        from agent_app.knowledge.embedders import embedding_provider
        from agent_app.providers import local_embed

        try:
            self.agents.get(prepare_choice(self.settings, options.model_choice()), lang, options)
        except AppError:  # the turn itself will say what is wrong
            log.info("nothing to warm: %s", options.model_choice().label)
        if embedding_provider(self.settings) == "local":
            try:
                local_embed.warm()
            except Exception as exc:  # the first embedding reports it where it is used
                log.warning("local embedding model not loaded: %s", type(exc).__name__)

    def state_graph(self, options: ThreadOptions) -> Any:
        """The cached agent a thread's turns run on, to read its state through the graph's API."""
        lang = self.settings.lang
        try:  # no network here: a thread's history must show even when its server is down
            return self.agents.get(
                prepare_choice(self.settings, options.model_choice(), probe=False),
                lang,
                options,
                any_lang=True,
            )
        except (
            AppError
        ):  # its provider is not configured any more: the offline agent reads the same state
            offline = prepare_choice(self.settings, ModelChoice("offline", "offline"), probe=False)
            return self.agents.get(offline, lang, options, any_lang=True)


def _new_message(payload: Any) -> bool:
    """Whether a run's input is a new user message (not a resume, a retry or a regeneration)."""
    messages = payload.get("messages") if isinstance(payload, dict) else None
    return isinstance(messages, list) and bool(messages) and isinstance(messages[-1], HumanMessage)
