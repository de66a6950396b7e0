"""RemoteTurns: turns streamed from a LangGraph Server (`AGENT_APP_BACKEND`) instead of in-process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from langchain_core.messages import AIMessage, HumanMessage, convert_to_messages
from langgraph.types import Command, Interrupt

from agent_app import events as ev
from agent_app.errors import AppError, BackendUnavailableError
from agent_app.i18n import t
from agent_app.server import GRAPH_ID
from agent_app.server.events import ServerEvents, content_text, interrupts_of
from agent_app.settings import Settings
from agent_app.storage.threads import ThreadInfo, ThreadRegistry
from agent_app.thread_options import ThreadOptions
from agent_app.turn_notes import PAUSED, TurnNotes

log = logging.getLogger(__name__)
STREAM_MODES = ["messages-tuple", "custom", "updates"]


def server_url(backend: str) -> str:
    """The server's HTTP address: langgraph://host:port means http://host:port."""
    parts = urlsplit(backend.strip())
    if parts.scheme == "langgraph" and parts.netloc:
        return f"http://{parts.netloc}{parts.path}".rstrip("/")
    if parts.scheme in ("http", "https") and parts.netloc:
        return backend.strip().rstrip("/")
    raise AppError("bad backend", key="error.backend_unavailable")


@dataclass
class Snapshot:
    """The part of a state snapshot the service reads: messages and waiting interrupts."""

    values: dict[str, Any] = field(default_factory=dict)
    interrupts: tuple[Interrupt, ...] = ()


class RemoteState:
    """A conversation's state as the server holds it, read like a compiled graph's."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get_state(self, config: dict[str, Any]) -> Snapshot:
        """The thread's messages and interrupts (empty when the server has no such thread)."""
        thread_id = str(config["configurable"]["thread_id"])
        try:
            state = self.client.threads.get_state(thread_id)
        except httpx.HTTPStatusError as err:
            if err.response.status_code == 404:
                return Snapshot()
            raise BackendUnavailableError(f"HTTP {err.response.status_code}") from None
        except httpx.TransportError:
            raise BackendUnavailableError("unreachable") from None
        values = state.get("values") if isinstance(state.get("values"), dict) else {}
        messages: list[Any] = convert_to_messages(values.get("messages") or [])
        return Snapshot({"messages": messages}, tuple(interrupts_of(state.get("interrupts"))))

    def update_state(
        self, config: dict[str, Any], values: dict[str, Any], as_node: str | None = None
    ) -> None:
        """Change the thread's state on the server (regenerate, edit, answer versions).

        The messages go as LangChain's JSON (RemoveMessage is `{"type": "remove", "id": …}`); the
        server applies them through the graph's own reducer, as `update_state` does in-process.
        """
        thread_id = str(config["configurable"]["thread_id"])
        try:
            self.client.threads.update_state(thread_id, values, as_node=as_node)
        except httpx.HTTPStatusError as err:
            raise BackendUnavailableError(f"HTTP {err.response.status_code}") from None
        except httpx.TransportError:
            raise BackendUnavailableError("unreachable") from None


def _message_json(message: HumanMessage) -> dict[str, Any]:
    return {"type": "human", "content": message.content, "id": message.id}


class RemoteTurns:
    """Runs each turn on the LangGraph Server; the same events as the in-process TurnRunner."""

    def __init__(
        self, settings: Settings, registry: ThreadRegistry, client: Any | None = None
    ) -> None:
        from langgraph_sdk import get_sync_client

        self.settings, self.registry = settings, registry
        """Where each answer's notes (usage, sources, memories used) are kept, as for local turns."""
        key = settings.backend_api_key
        connect, read = settings.connect_timeout, settings.turn_deadline_s
        self.client: Any = client or get_sync_client(
            url=server_url(settings.backend),
            api_key=key.get_secret_value() if key is not None else None,
            timeout=(connect, read, read, connect),
        )
        self.state = RemoteState(self.client)
        self.last_extraction: Any = None
        """Memory extraction runs nowhere for server turns (kept for the service's API)."""

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
        """One run on the server; ends with done or error (or pauses at approval_required)."""
        mapper = ServerEvents(lang)
        resumed = isinstance(payload, Command)  # it goes on with what it gathered before its pause
        notes = TurnNotes.carried(self.registry.notes(info.id).get(PAUSED) if resumed else None)
        stream = self._stream(info, options, payload, user_id, lang, mapper)
        try:
            for event in stream:
                if stop is not None and stop.is_set():
                    yield ev.Error("stopped", t("error.stopped", lang), partial=mapper.streamed)
                    return None
                notes.take(event)
                yield event
        except httpx.TransportError:
            log.warning("LangGraph Server unreachable")
            down = BackendUnavailableError("unreachable")
            yield ev.Error(down.kind, down.user_message(lang), partial=mapper.streamed)
            return None
        except httpx.HTTPStatusError as err:
            log.warning("LangGraph Server refused the run: HTTP %s", err.response.status_code)
            down = BackendUnavailableError(f"HTTP {err.response.status_code}")
            yield ev.Error(down.kind, down.user_message(lang))
            return None
        finally:
            stream.close()  # closes the connection: the server cancels a run we left
        for event in mapper.flush():
            notes.take(event)
            yield event
        outcome = mapper.outcome(info.id)
        self._keep_notes(info.id, outcome, notes, resumed=resumed)
        if outcome is None:
            return None
        yield outcome
        last = mapper.last_ai
        if not isinstance(outcome, ev.Done) or last is None:
            return None
        # The answer as the server stored it: the service records it as a version of its turn
        # and may title the conversation (memory extraction stays with the server's own tools).
        return AIMessage(content=content_text(last.get("content")), id=last.get("id"))

    def _keep_notes(
        self, thread_id: str, outcome: ev.Event | None, notes: TurnNotes, *, resumed: bool
    ) -> None:
        """The answer's notes beside it (a reload shows them); a pause keeps them for the resume."""
        if outcome is None:
            self.registry.set_note(thread_id, PAUSED, notes.as_dict())
            return
        if isinstance(outcome, ev.Done) and outcome.message_id:
            self.registry.set_note(thread_id, outcome.message_id, notes.as_dict())
        if resumed:
            self.registry.set_note(thread_id, PAUSED, {})

    def _stream(
        self,
        info: ThreadInfo,
        options: ThreadOptions,
        payload: Any,
        user_id: str,
        lang: str,
        mapper: ServerEvents,
    ) -> Generator[ev.Event, None, None]:
        """The server's stream parts for this run, already translated."""
        run_input: dict[str, Any] | None = None
        command: dict[str, Any] | None = None
        if isinstance(payload, Command):
            command = {"resume": payload.resume}
        else:
            run_input = {"messages": [_message_json(m) for m in payload.get("messages", [])]}
        # Only the choices stored on the conversation: the server applies its own defaults.
        stored = dict(info.options)
        collections = list(options.collections) if options.collections is not None else None
        parts = self.client.runs.stream(
            info.id,
            GRAPH_ID,
            input=run_input,
            command=command,
            stream_mode=STREAM_MODES,
            config={"recursion_limit": self.settings.recursion_limit},
            # The server hands the context to the graph factory as `configurable` too (it picks
            # the agent from `agent_options`) and to the run as AgentContext (unknown keys dropped).
            context={
                "user_id": user_id,
                "thread_id": info.id,
                "lang": lang,
                "collections": collections,
                "agent_options": stored,
            },
            if_not_exists="create",
            on_disconnect="cancel",  # a stopped turn stops on the server too
        )
        for part in parts:
            yield from mapper.feed(part.event, part.data)

    def extract(self, *_args: Any, **_kwargs: Any) -> None:
        """No local memory extraction: the server's store holds what its memory tools write."""

    def warm(self, *_args: Any, **_kwargs: Any) -> None:
        """Nothing to prepare locally: the server builds the agent."""

    def state_graph(self, _options: ThreadOptions) -> RemoteState:
        """What the service reads a conversation's state through."""
        return self.state
