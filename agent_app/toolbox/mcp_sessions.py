"""McpSessions: one long-lived session per MCP server, on one background event loop.

Without it every tool call started its stdio server anew (about a second a call). A session is
opened when the tools are loaded and kept until `close()` (or interpreter exit); a server that
died is reconnected at its next call; a server that announces a changed tool list
(`notifications/tools/list_changed`) is listed again at once, and one that announces nothing is
listed again when `refresh_due` finds its listing older than the TTL. Every listing after the
first is handed to `on_listed`, so new tools reach the agent without a restart; a tool whose
description or schema changed is refused until an admin approves it again (`check` is the pin
rule of mcp_servers).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import functools
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from langchain_core.tools import BaseTool, StructuredTool

logger = logging.getLogger(__name__)
T = TypeVar("T")
PinCheck = Callable[[str, BaseTool], str]
"""(server, tool) → '' when the tool may run, else why it is held back."""
Listed = Callable[[str, list[BaseTool]], None]
"""(server, its tools as now listed) after a listing that follows the first one."""


class _Server:
    """One server's live session: the task that holds it open, and the tools it listed."""

    def __init__(self, name: str, connection: dict[str, Any], connect_timeout: float) -> None:
        self.name, self.connection, self.connect_timeout = name, connection, connect_timeout
        self.tools: dict[str, BaseTool] = {}
        self.session: Any = None
        self.stale = False
        """Set when the server announced a changed tool list: list again before the next call."""
        self.listed_at = 0.0
        """When the tools were last listed (monotonic clock)."""
        self.on_listed: Callable[[list[BaseTool]], None] = lambda tools: None
        """Told every listing (McpSessions hands it on from the second one)."""
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._refreshing: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    async def connect(self) -> list[BaseTool]:
        """Open the session (within the connect timeout) and list its tools."""
        await self.disconnect()
        ready: asyncio.Future[list[BaseTool]] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._hold(ready, self._stop), name=f"mcp-{self.name}")
        try:
            return await asyncio.wait_for(asyncio.shield(ready), self.connect_timeout)
        except BaseException:
            await self.disconnect()
            raise

    async def _hold(self, ready: asyncio.Future[list[BaseTool]], stop: asyncio.Event) -> None:
        """Keep the session open in one task (its transport's cancel scopes need that)."""
        from langchain_mcp_adapters.sessions import create_session
        from langchain_mcp_adapters.tools import load_mcp_tools

        connection = {**self.connection, "session_kwargs": {"message_handler": self._on_message}}
        try:
            async with create_session(connection) as session:  # type: ignore[arg-type]
                _check_output_schemas_once(session)
                await session.initialize()
                self.session = session
                listed = await load_mcp_tools(session, server_name=self.name)
                self._listed(listed)
                ready.set_result(listed)
                await stop.wait()
        except Exception as exc:  # reported to connect(), or noticed at the next call
            if not ready.done():
                ready.set_exception(exc)
            else:
                logger.warning("MCP server %s: session ended: %s", self.name, type(exc).__name__)
        finally:
            self.session = None

    async def _on_message(self, message: Any) -> None:
        from mcp.types import ServerNotification, ToolListChangedNotification

        if isinstance(message, ServerNotification) and isinstance(
            message.root, ToolListChangedNotification
        ):
            self.stale = True
            # Listed in a task of its own: this handler runs on the session's reader, which
            # must be free to deliver the answer to tools/list.
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.get_running_loop().create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await asyncio.wait_for(self.refresh(), self.connect_timeout)
        except Exception as exc:  # listed again before its next call instead
            logger.info("MCP server %s: listing failed: %s", self.name, type(exc).__name__)

    async def refresh(self) -> None:
        """List the tools again on the open session."""
        from langchain_mcp_adapters.tools import load_mcp_tools

        self.stale = False  # a notice that comes during the listing marks it stale again
        self._listed(await load_mcp_tools(self.session, server_name=self.name))

    def _listed(self, listed: list[BaseTool]) -> None:
        self.tools, self.listed_at = {t.name: t for t in listed}, time.monotonic()
        try:
            self.on_listed(listed)
        except Exception:  # the session goes on with the new listing whatever the app made of it
            logger.exception("MCP server %s: new listing not applied", self.name)

    async def disconnect(self) -> None:
        """End the session (its stdio server exits with it)."""
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except BaseException:  # a stuck transport: cancel it
                self._task.cancel()
        self._task = self._stop = None


class McpSessions:
    """Every configured server's session; tools it hands out call through the live session."""

    def __init__(self, check: PinCheck | None = None) -> None:
        self._check = check or (lambda server, tool: "")
        self.on_listed: Listed | None = None
        """Told each server's tools every time they are listed again (set once they are loaded)."""
        self._servers: dict[str, _Server] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self.calls = 0
        """Tool calls made through these sessions (the benchmark reads it)."""

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start a coroutine on the sessions' loop (started on first use) from any thread."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="mcp", daemon=True).start()
                atexit.register(self.close)
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the sessions' loop and wait for it."""
        return self._submit(coro).result(timeout)

    def open_all(
        self, servers: list[tuple[str, dict[str, Any], float]]
    ) -> list[list[BaseTool] | BaseException]:
        """Connect to servers (name, connection, connect timeout) at once: tools or the failure."""
        opened = [_Server(name, conn, timeout) for name, conn, timeout in servers]
        for server in opened:
            server.on_listed = functools.partial(self._announce, server)
        self._servers.update((server.name, server) for server in opened)

        async def connect_all() -> list[list[BaseTool] | BaseException]:
            return list(
                await asyncio.gather(*(s.connect() for s in opened), return_exceptions=True)
            )

        longest = max((timeout for _, _, timeout in servers), default=0.0)
        results = self._run(connect_all(), longest + 10)
        return [
            r if isinstance(r, BaseException) else [self._proxy(server, tool) for tool in r]
            for server, r in zip(opened, results, strict=True)
        ]

    def _announce(self, server: _Server, tools: list[BaseTool]) -> None:
        if self.on_listed is not None:
            self.on_listed(server.name, [self._proxy(server, tool) for tool in tools])

    def refresh_due(self, ttl: float) -> None:
        """List again, now, every open server whose listing is older than `ttl` seconds."""
        now = time.monotonic()
        due = [s for s in self._servers.values() if s.alive and now - s.listed_at > ttl]
        if not due or self._loop is None:
            return
        for server in due:
            server.listed_at = now  # one attempt per TTL, even if this one fails

        async def relist() -> None:
            await asyncio.gather(*(s._refresh_quietly() for s in due))

        try:
            self._run(relist(), max(s.connect_timeout for s in due) + 1)
        except Exception:  # a slow server: it is listed again at its next call
            logger.info("MCP servers not listed again in time")

    def _proxy(self, server: _Server, tool: BaseTool) -> BaseTool:
        """A copy of `tool` whose calls go through the server's current session.

        The sync form hands the call straight to the sessions' loop: the graph calls tools from
        threads, and a private event loop per call (the generic async-to-sync bridge) costs more
        than the call itself.
        """
        assert isinstance(tool, StructuredTool)
        name = tool.name

        async def call(**arguments: Any) -> Any:
            return await asyncio.wrap_future(self._submit(self._call(server, name, arguments)))

        def call_sync(**arguments: Any) -> Any:
            return self._run(self._call(server, name, arguments))

        return tool.model_copy(update={"coroutine": call, "func": call_sync})

    async def _call(self, server: _Server, name: str, arguments: dict[str, Any]) -> Any:
        import anyio

        try:
            return await self._call_once(server, name, arguments)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            # The request was never sent (the server had gone): a new session, then the call.
            logger.info("MCP server %s: reconnecting", server.name)
            await self._reconnect(server)
            return await self._call_once(server, name, arguments)
        except Exception as exc:
            if _connection_lost(exc):  # it went away during this call: reconnect at the next one
                await server.disconnect()
            raise

    async def _reconnect(self, server: _Server) -> None:
        """A new session for a server that went away; a clear tool error if it cannot be had."""
        try:
            await server.connect()
        except Exception as exc:
            from langchain_core.tools import ToolException

            why = (
                "it did not answer in time" if isinstance(exc, TimeoutError) else "it did not start"
            )
            logger.warning("MCP server %s: reconnect failed: %s", server.name, type(exc).__name__)
            raise ToolException(
                f"The MCP server {server.name!r} stopped and could not be restarted ({why}); "
                "its tools are unavailable for now."
            ) from None

    async def _call_once(self, server: _Server, name: str, arguments: dict[str, Any]) -> Any:
        if not server.alive:  # it was closed or never came up: a new session, a fresh listing
            await self._reconnect(server)
        elif server.stale:
            await server.refresh()
        live = server.tools.get(name)
        if live is None:
            raise RuntimeError(f"the MCP server no longer offers {name}")
        held = self._check(server.name, live)
        if held:
            raise RuntimeError(held)
        self.calls += 1
        assert isinstance(live, StructuredTool) and live.coroutine is not None
        return await live.coroutine(**arguments)

    def close(self) -> None:
        """End every session and stop the loop (idempotent)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return

        async def end_all() -> None:
            await asyncio.gather(*(s.disconnect() for s in self._servers.values()))

        try:
            asyncio.run_coroutine_threadsafe(end_all(), loop).result(10)
        except Exception:  # exiting anyway
            logger.warning("MCP sessions did not close cleanly", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)


def _check_output_schemas_once(session: Any) -> None:
    """Validate tool results against validators built once per output schema.

    The MCP SDK's ClientSession checks each output schema against its metaschema again on every
    call (`jsonschema.validate`), about 9 ms of a 30 ms call; the result is checked the same way
    here, with the schema checked once. Anything unusual goes back to the SDK's own method.
    """
    from jsonschema import SchemaError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from referencing import Registry

    original = getattr(session, "_validate_tool_result", None)
    built: dict[str, tuple[Any, Any]] = {}
    if original is None:
        return

    async def validate(name: str, result: Any) -> None:
        schemas = getattr(session, "_tool_output_schemas", None)
        if not isinstance(schemas, dict) or name not in schemas:
            return await original(name, result)  # not listed yet: the SDK lists and checks
        schema = schemas[name]
        if schema is None:
            return None
        if result.structuredContent is None:
            raise RuntimeError(
                f"Tool {name} has an output schema but did not return structured content"
            )
        if name not in built or built[name][0] is not schema:
            kind = validator_for(schema)
            try:
                kind.check_schema(schema)
            except SchemaError as exc:
                raise RuntimeError(f"Invalid schema for tool {name}: {exc}") from None
            built[name] = (schema, kind(schema, registry=Registry()))
        error = best_match(built[name][1].iter_errors(result.structuredContent))
        if error is not None:
            raise RuntimeError(f"Invalid structured content returned by tool {name}: {error}")
        return None

    session._validate_tool_result = validate


def _connection_lost(exc: BaseException) -> bool:
    """Whether an error means the session is gone (rather than the tool failing)."""
    from mcp.shared.exceptions import McpError

    return isinstance(exc, McpError) and "connection closed" in str(exc).lower()
