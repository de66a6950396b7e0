"""Small helpers for tests that drive real clients against the fakes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx


def aggregate(stream: Iterable[Any]) -> tuple[list[Any], Any]:
    """Consume a chat-model stream: (all chunks, the chunks added together)."""
    chunks = list(stream)
    if not chunks:
        raise AssertionError("the stream yielded no chunks")
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return chunks, total


def stream_until_error(stream: Iterable[Any]) -> tuple[str, BaseException]:
    """Consume a stream that must fail: (text received before the error, the error)."""
    got: list[str] = []
    try:
        for chunk in stream:
            got.append(str(getattr(chunk, "content", chunk)))
    except Exception as exc:  # the caller asserts on the type
        return "".join(got), exc
    raise AssertionError(f"the stream ended without an error after {''.join(got)!r}")


def exception_chain(exc: BaseException | None) -> list[BaseException]:
    """`exc` followed by its causes/contexts, outermost first."""
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def chain_text(exc: BaseException | None) -> str:
    """One "Type: message" line per exception in the chain (for substring asserts)."""
    return "\n".join(f"{type(e).__name__}: {e}" for e in exception_chain(exc))


def raw_parts(url: str, body: dict[str, Any], headers: dict[str, str]) -> list[bytes]:
    """POST `body` and return the response body exactly as the socket delivered it."""
    with httpx.Client(trust_env=False) as client:
        with client.stream("POST", url, json=body, headers=headers) as resp:
            return list(resp.iter_raw())


def is_utf8(data: bytes) -> bool:
    """Whether `data` decodes as UTF-8 on its own."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
