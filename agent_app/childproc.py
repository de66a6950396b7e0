"""JsonChild: a freshly spawned helper process spoken to in JSON lines, with time and memory caps.

The one way the app runs code it must be able to abandon (document parsing, tool-module probes).
The child is a new interpreter (`subprocess`, never a `fork()` of the app: the Streamlit server is
multi-threaded, and a forked copy may inherit a lock some other thread held). It lives in its own
session, so killing it takes its own children too. Nothing is pickled: one JSON object per line.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any


class ChildGone(Exception):
    """The child exited, closed its output, or wrote something that is not a JSON object."""


def _limit_memory(pid: int, memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    with contextlib.suppress(OSError, ValueError, AttributeError):  # not Linux, or already lower
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))


class JsonChild:
    """One child process: `send` a JSON object, `read` the next one before a deadline, `close`."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        memory_mb: int | None = None,
    ) -> None:
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=dict(env) if env is not None else None, cwd=cwd,
            start_new_session=True,
        )  # fmt: skip
        if memory_mb:
            _limit_memory(self._proc.pid, memory_mb)
        self._buf = bytearray()

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self._proc is not None and self._proc.poll() is None

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one JSON line; ChildGone if the child no longer reads."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise ChildGone
        try:
            proc.stdin.write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise ChildGone from None

    def read(self, deadline: float) -> dict[str, Any]:
        """The next JSON object; TimeoutError at `deadline` (monotonic), ChildGone on exit or junk."""
        proc = self._proc
        if proc is None or proc.stdout is None:
            raise ChildGone
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    raise TimeoutError
                data = os.read(fd, 1 << 20)
                if not data:
                    raise ChildGone
                self._buf += data
        line, _, rest = bytes(self._buf).partition(b"\n")
        self._buf = bytearray(rest)
        try:
            message = json.loads(line)
        except ValueError:
            raise ChildGone from None
        if not isinstance(message, dict):
            raise ChildGone
        return message

    def close(self) -> None:
        """Kill the child and everything it started (SIGKILL to its session), and reap it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def reply_channel() -> Any:
    """In the child: a private binary stream to the parent.

    fd 1 then points at /dev/null, so stray prints (a parser's, a tool module's) cannot corrupt
    the protocol.
    """
    out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    return out


def write_message(out: Any, message: Mapping[str, Any]) -> None:
    """In the child: one JSON line to the parent."""
    out.write(json.dumps(message, ensure_ascii=False).encode("utf-8", "replace") + b"\n")
    out.flush()
