"""Split streamed text into answer and <think>…</think> reasoning, even when tags span chunks."""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


class ThinkSplitter:
    """Feed text pieces; get back (kind, text) pairs with kind 'token' or 'reasoning'."""

    def __init__(self) -> None:
        self._buf = ""
        self._inside = False

    def feed(self, text: str) -> list[tuple[str, str]]:
        """Split a streamed piece into (kind, text) parts; an unfinished tag waits for more."""
        self._buf += text
        out: list[tuple[str, str]] = []
        while self._buf:
            tag = CLOSE if self._inside else OPEN
            kind = "reasoning" if self._inside else "token"
            idx = self._buf.find(tag)
            if idx >= 0:
                if idx:
                    out.append((kind, self._buf[:idx]))
                self._buf = self._buf[idx + len(tag) :]
                self._inside = not self._inside
                continue
            keep = self._partial_tag_len(tag)
            emit = self._buf[: len(self._buf) - keep]
            if emit:
                out.append((kind, emit))
            self._buf = self._buf[len(self._buf) - keep :]
            break
        return out

    def flush(self) -> list[tuple[str, str]]:
        """The text still held back at the end of the stream."""
        rest, self._buf = self._buf, ""
        return [("reasoning" if self._inside else "token", rest)] if rest else []

    def _partial_tag_len(self, tag: str) -> int:
        """Length of the buffer's tail that could be the start of `tag`."""
        for n in range(min(len(tag) - 1, len(self._buf)), 0, -1):
            if self._buf.endswith(tag[:n]):
                return n
        return 0
