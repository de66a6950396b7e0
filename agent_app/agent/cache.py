"""Compiled agents cached per conversation setup (model, tools, approval, plan, language)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain.agents.middleware import AgentMiddleware, TodoListMiddleware
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from agent_app.agent.condense import Archive
from agent_app.agent.graph import build_agent
from agent_app.agent.images_middleware import BlindModelMiddleware
from agent_app.agent.small_model import SmallModelMiddleware
from agent_app.errors import AppError
from agent_app.i18n import t
from agent_app.providers.choice import ModelChoice, parse_model_spec
from agent_app.settings import Settings
from agent_app.thread_options import ThreadOptions
from agent_app.toolbox.registry import needs_approval

log = logging.getLogger(__name__)
BACKENDS = {"dashscope": "DashScope", "ollama": "Ollama", "openai": "OpenAI"}


class AgentCache:
    """Builds each distinct agent once; every agent shares the checkpointer and the store."""

    def __init__(
        self,
        settings: Settings,
        factory: Callable[[ModelChoice], BaseChatModel],
        checkpointer: BaseCheckpointSaver | None,
        store: BaseStore | None,
        tools: Sequence[BaseTool] | Callable[[], Sequence[BaseTool]],
        archive: Archive | None = None,
        recall: bool | None = None,
    ) -> None:
        self.settings, self.factory, self.checkpointer, self.store = (
            settings,
            factory,
            checkpointer,
            store,
        )
        fixed = None if callable(tools) else list(tools)
        self._tools: Callable[[], Sequence[BaseTool]] = (
            (lambda: fixed) if fixed is not None else tools  # type: ignore[assignment]
        )
        """The tools now (a server may list new ones while the app runs: a new key, a new agent)."""
        self.archive = archive
        """Where the turns a summary replaces are kept (the page still shows them)."""
        self.recall = recall
        """Memory recall in the prompt (None: when a store is given; see build_agent)."""
        self._agents: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def get(
        self, choice: ModelChoice, lang: str, options: ThreadOptions, *, any_lang: bool = False
    ) -> Any:
        """The compiled agent for a prepared model choice and the conversation's options.

        `any_lang`: one built for another language will do (reading or editing the thread's
        state: the language only changes the prompts, not the graph).
        """
        disabled = set(options.disabled_tools)
        usable = choice.supports_tools or choice.small
        tools = [t for t in self._tools() if t.name not in disabled] if usable else []
        mode = options.approval_mode
        approval = tuple(
            t.name for t in tools if mode == "all" or (mode == "ask" and needs_approval(t))
        )
        plan = options.plan and choice.supports_tools and not choice.small
        key = (
            choice.provider,
            choice.model,
            choice.thinking,
            choice.temperature,
            choice.small,
            choice.supports_tools,
            choice.vision,
            lang,
            tuple(t.name for t in tools),
            approval,
            plan,
            mode,
        )
        build = lambda: self._build(choice, tools, lang, approval, plan, mode)  # noqa: E731
        return self._cached(key, build, any_lang)

    @property
    def tools(self) -> list[BaseTool]:
        """The tools an agent built now would get (before per-conversation choices)."""
        return list(self._tools())

    def _cached(self, key: tuple[Any, ...], build: Callable[[], Any], any_lang: bool) -> Any:
        with self._lock:
            if key not in self._agents and any_lang:
                same = next(
                    (a for k, a in self._agents.items() if k[:6] + k[7:] == key[:6] + key[7:]), None
                )
                if same is not None:
                    return same
            if key not in self._agents:
                self._agents[key] = build()
            return self._agents[key]

    def _fallback(self, choice: ModelChoice) -> tuple[BaseChatModel | None, str]:
        if not self.settings.fallback_model:
            return None, ""
        provider, model = parse_model_spec(self.settings.fallback_model, choice.provider)
        fb_choice = ModelChoice(provider, model, temperature=choice.temperature)
        try:
            return self.factory(fb_choice), fb_choice.label
        except AppError:
            log.warning("fallback model %s is not configured", fb_choice.label)
            return None, ""

    def _build(
        self,
        choice: ModelChoice,
        tools: list[BaseTool],
        lang: str,
        approval: tuple[str, ...],
        plan: bool,
        mode: str = "ask",
    ) -> Any:
        extra: list[AgentMiddleware] = []
        if choice.small and tools:
            extra.append(
                SmallModelMiddleware(
                    native_tools=choice.supports_tools, max_tools=self.settings.small_model_tools
                )
            )
        if plan:
            extra.append(TodoListMiddleware())  # type: ignore[arg-type]
        if not choice.vision:
            extra.append(BlindModelMiddleware(t("transcript.image_omitted", lang)))
        fallback, fallback_label = self._fallback(choice)
        return build_agent(
            self.settings,
            model=self.factory(choice),
            tools=tools,
            checkpointer=self.checkpointer,
            store=self.store,
            fallback=fallback,
            fallback_label=fallback_label,
            model_label=choice.label,
            backend=BACKENDS.get(choice.provider, "model"),
            approval_tools=approval,
            approval_mode=mode,
            lang=lang,
            extra_middleware=extra,
            archive=self.archive,
            recall=self.recall,
        )
