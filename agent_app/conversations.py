"""Conversations: the user's conversation list, options and preferences — the light part of the façade.

It opens no model, graph, memory or knowledge base, so a front end can name a conversation (and
refuse bad input) before the heavy parts are loaded; ChatService builds on it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agent_app import events as ev
from agent_app.errors import AmbiguousIdError, AppError, NotFoundError
from agent_app.i18n import t
from agent_app.providers import catalog
from agent_app.settings import Settings
from agent_app.storage.backend import target_for
from agent_app.storage.threads import ThreadInfo, ThreadRegistry
from agent_app.thread_options import ThreadOptions, merge_choices

if TYPE_CHECKING:
    from agent_app.images import Image

OLLAMA_LIST_TTL_S = 30.0
"""How long the list of pulled Ollama models is reused."""


class Conversations:
    """Conversations and preferences of each user, checked for ownership on every call."""

    def __init__(self, settings: Settings, registry: ThreadRegistry) -> None:
        self.settings, self.registry = settings, registry
        self._ollama: tuple[float, list[str]] | None = None

    # ---- the model picker ----------------------------------------------------------------
    def ollama_models(self) -> list[str]:
        """Models pulled into the configured Ollama server (cached briefly; empty when unreachable)."""
        now = time.monotonic()
        if self._ollama is None or now - self._ollama[0] > OLLAMA_LIST_TTL_S:
            s = self.settings
            self._ollama = (now, catalog.ollama_models(s.ollama_host, s.ollama_allow_remote))
        return list(self._ollama[1])

    def providers(self) -> list[str]:
        """Providers this deployment can use, in display order."""
        return catalog.configured_providers(self.settings, self.ollama_models())

    def models(self, provider: str) -> list[str]:
        """Suggested models for a provider; the configured default first."""
        return catalog.model_options(self.settings, provider, self.ollama_models())

    def new_thread(
        self, user_id: str, title: str = "", options: Mapping[str, Any] | None = None
    ) -> ThreadInfo:
        """Create a conversation for the user with these options."""
        return self.registry.create(user_id, title, merge_choices({}, options or {}))

    def list_threads(self, user_id: str, query: str = "") -> list[ThreadInfo]:
        """The user's conversations, newest first, optionally filtered by title."""
        return self.registry.list(user_id, query)

    def get_thread(self, user_id: str, thread_id: str) -> ThreadInfo:
        """The user's conversation; NotFoundError if it is unknown or someone else's."""
        info = self.registry.get(user_id, thread_id)
        if info is None:  # unknown, or someone else's: the same answer
            raise NotFoundError(thread_id)
        return info

    def find_thread(self, user_id: str, id_or_prefix: str) -> ThreadInfo:
        """The user's conversation with this id, or the only one whose id starts with it.

        NotFoundError when none matches; AmbiguousIdError, listing the candidates, when several do.
        Only the user's own conversations are searched, so a prefix reveals nothing of others.
        """
        wanted = id_or_prefix.strip().lower()
        exact = self.registry.get(user_id, wanted) if wanted else None
        if exact is not None:
            return exact
        matches = [i for i in self.list_threads(user_id) if wanted and i.id.startswith(wanted)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFoundError(id_or_prefix)
        names = "; ".join(f"{i.id[:12]} {i.title or '…'}" for i in matches[:10])
        raise AmbiguousIdError(id_or_prefix, prefix=wanted, candidates=names, count=len(matches))

    def rename_thread(self, user_id: str, thread_id: str, title: str) -> None:
        """Rename the user's conversation; NotFoundError if it is not theirs."""
        if not self.registry.rename(user_id, thread_id, title):
            raise NotFoundError(thread_id)

    def thread_options(self, info: ThreadInfo | None) -> ThreadOptions:
        """What a conversation runs with (a draft, None, gets the deployment's defaults)."""
        return ThreadOptions.resolve(self.settings, info.options if info is not None else None)

    def set_thread_options(self, user_id: str, thread_id: str, **changes: Any) -> ThreadOptions:
        """Store choices on a conversation (None keeps a value); unknown names raise TypeError."""
        info = self.get_thread(user_id, thread_id)
        stored = merge_choices(info.options, changes)
        self.registry.set_options(user_id, thread_id, stored)
        return ThreadOptions.resolve(self.settings, stored)

    # ---- preferences ---------------------------------------------------------------------
    def get_prefs(self, user_id: str) -> dict[str, Any]:
        """The user's stored preferences (language and the like)."""
        return self.registry.get_prefs(user_id)

    def set_prefs(self, user_id: str, **prefs: Any) -> None:
        """Update some of the user's preferences."""
        self.registry.set_prefs(user_id, {**self.registry.get_prefs(user_id), **prefs})

    def _thread_or_error(self, user_id: str, thread_id: str, lang: str) -> ThreadInfo | ev.Error:
        try:
            return self.get_thread(user_id, thread_id)
        except AppError as err:
            return ev.Error(err.kind, err.user_message(lang))

    def check_input(self, text: str, lang: str | None = None) -> ev.Error | None:
        """Why `stream` would refuse this text (empty, too long), or None; nothing is stored."""
        lang = lang or self.settings.lang
        if not text or not text.strip():
            return ev.Error("empty_input", t("error.empty_input", lang))
        if len(text) > self.settings.max_input_chars:
            return ev.Error(
                "input_rejected",
                t(
                    "error.input_too_long",
                    lang,
                    size=len(text),
                    limit=self.settings.max_input_chars,
                ),
            )
        return None

    def prepare_images(self, info: ThreadInfo | None, raws: list[bytes]) -> list[Image]:
        """Images for a message on this conversation, checked and re-encoded; ImageRejectedError if not.

        Refused before anything is stored or sent: not an image we take, too large, or no model
        that can see them (the conversation's own, or the configured vision model).
        """
        from agent_app.images import ImageRejectedError, prepare_image
        from agent_app.providers.models import prepare_choice

        if not raws:
            return []
        own = self.thread_options(info).model_choice()
        try:  # what an earlier probe learnt of an Ollama model; no request here
            sees = prepare_choice(self.settings, own, probe=False).vision
        except AppError:
            sees = False
        if not self.settings.vision_model and not sees:
            raise ImageRejectedError("no vision model", key="error.image_needs_model")
        limit = int(self.settings.max_image_mb * 1_000_000)
        return [prepare_image(raw, max_bytes=limit) for raw in raws]

    def can_transcribe(self) -> bool:
        """Whether a speech recogniser is configured (the chat box then offers to record)."""
        return bool(self.settings.asr_model or self.settings.asr_url)

    def transcribe(self, recording: bytes) -> str:
        """The words spoken in a recording, to show (and edit) before sending; SpeechError if not."""
        from agent_app.speech import transcribe

        return transcribe(self.settings, recording)

    def can_read_aloud(self) -> bool:
        """Whether answers can be read aloud (a speech synthesis model and a DashScope key)."""
        return bool(self.settings.tts_model and self.settings.dashscope_api_key)

    def read_aloud(self, text: str, lang: str | None = None) -> tuple[bytes, bool]:
        """An answer spoken (WAV bytes) and whether only its beginning was read; AppError if not."""
        from agent_app.tts import synthesize

        return synthesize(self.settings, text, lang or self.settings.lang)

    def close(self) -> None:
        """Close the conversation database."""
        self.registry.close()


def open_conversations(settings: Settings) -> Conversations:
    """The conversations in the data directory (creating it if needed)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Conversations(settings, ThreadRegistry(target_for(settings, "app.db")))
