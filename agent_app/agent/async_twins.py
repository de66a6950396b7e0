"""Async twins of our sync middleware hooks (LangGraph Server runs graphs with `astream`)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T", bound=type)
NODE_HOOKS = ("before_agent", "before_model", "after_model", "after_agent")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def on_thread(fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
    """Run a sync hook on a thread of its own, in the caller's context (config, stream writer).

    Its own thread, not the loop's small default pool: hooks nest (each model call passes
    through several), and a pool of six threads all waiting on inner hooks would deadlock.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            result = context.run(fn, *args)
        except BaseException as exc:  # handed to the awaiting task, re-raised there
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=work, name="middleware-hook", daemon=True).start()
    return future


def _sync_handler(
    handler: Callable[[Any], Awaitable[Any]], loop: asyncio.AbstractEventLoop
) -> Callable[[Any], Any]:
    """The async inner chain as the sync `handler` our hooks call (from their thread)."""

    def call(request: Any) -> Any:
        async def inner() -> Any:
            return await handler(request)

        return asyncio.run_coroutine_threadsafe(inner(), loop).result()

    return call


def _wrap_twin(name: str) -> Callable[..., Any]:
    async def twin(self: Any, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        sync_hook = getattr(self, name)
        return await on_thread(
            sync_hook, request, _sync_handler(handler, asyncio.get_running_loop())
        )

    return twin


def _node_twin(name: str) -> Callable[..., Any]:
    async def twin(self: Any, state: Any, runtime: Any) -> Any:
        return await on_thread(getattr(self, name), state, runtime)

    return twin


def async_twins(cls: T) -> T:
    """Give each sync hook the class defines an async twin that runs it on a thread.

    Without it an async run fails on our middleware (langchain has no async fallback), or, for
    subclasses of langchain's own middleware, silently runs the parent's async hook instead.
    """
    for name in ("wrap_model_call", "wrap_tool_call"):
        if name in cls.__dict__:
            setattr(cls, f"a{name}", _wrap_twin(name))
    for name in NODE_HOOKS:
        if name in cls.__dict__:
            twin = _node_twin(name)
            jumps = getattr(cls.__dict__[name], "__can_jump_to__", None)
            if jumps is not None:
                twin.__can_jump_to__ = jumps  # type: ignore[attr-defined]
            setattr(cls, f"a{name}", twin)
    return cls
