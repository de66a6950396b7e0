"""Parse worker: a child process with a memory cap, spoken to in JSON lines (C4, C5).

Protocol (one line each way, UTF-8 JSON, nothing pickled): the parent writes
``{"path": str, "kind": str}``; the child answers ``{"ok": true, "sections": [...]}`` or
``{"ok": false, "error": {"code": str, "params": {...}}}``. The parent enforces a wall-clock
limit per file and kills the child on expiry; the child caps its own address space (RLIMIT_AS)
and exits after a MemoryError so the next file gets a fresh process.
"""

from __future__ import annotations

import json
import os
import queue
import resource
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agent_app.knowledge.errors import DocumentError

DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT_S = 60.0
MAX_JOBS_PER_PROCESS = 200
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "HOME", "SYSTEMROOT")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def _limit_memory(pid: int, memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    try:
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError, AttributeError):  # not Linux, or already lower
        pass


class ParseWorker:
    """One child process; not thread-safe (ParserPool hands each to one caller at a time)."""

    def __init__(self, memory_mb: int = DEFAULT_MEMORY_MB, command: list[str] | None = None):
        self.memory_mb = memory_mb
        self.command = command or [
            sys.executable,
            "-m",
            "agent_app.knowledge.worker",
            str(memory_mb),
        ]
        self._proc: subprocess.Popen[bytes] | None = None
        self._jobs = 0

    def _start(self) -> subprocess.Popen[bytes]:
        # Secrets stay in the parent: the child gets a minimal environment (RELIABILITY D1).
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env["PYTHONPATH"] = _PACKAGE_ROOT
        proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=_PACKAGE_ROOT,
            start_new_session=True,
        )
        _limit_memory(proc.pid, self.memory_mb)
        self._jobs = 0
        return proc

    def parse(
        self, path: str, kind: str, timeout: float = DEFAULT_TIMEOUT_S
    ) -> list[dict[str, Any]]:
        """Parse one file in the child; raise DocumentError on refusal, timeout or crash."""
        if (
            self._proc is None
            or self._proc.poll() is not None
            or self._jobs >= MAX_JOBS_PER_PROCESS
        ):
            self.close()
            self._proc = self._start()
        proc = self._proc
        self._jobs += 1
        request = json.dumps({"path": path, "kind": kind}).encode("utf-8") + b"\n"
        line: bytes | None
        try:
            assert proc.stdin is not None
            proc.stdin.write(request)
            proc.stdin.flush()
            line = _read_line(proc, time.monotonic() + timeout)
        except BrokenPipeError:
            line = b""
        if not line:
            self.close()
            raise DocumentError("timeout" if line is None else "worker_crashed")
        return _decode_reply(line, on_memory=self.close)

    def close(self) -> None:
        """Kill the child (if any) and reap it."""
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
                pipe.close()


def _read_line(proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
    """One reply line; b"" when the child died, None when the deadline passed."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    chunks: list[bytes] = []
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(remaining):
                return None
            data = os.read(fd, 1 << 20)
            if not data:
                return b""
            chunks.append(data)
            if data.endswith(b"\n"):
                return b"".join(chunks)


def _decode_reply(line: bytes, on_memory: Any) -> list[dict[str, Any]]:
    try:
        reply = json.loads(line)
    except ValueError as exc:
        raise DocumentError("worker_crashed") from exc
    if reply.get("ok"):
        return [
            {"text": str(s["text"]), "page": s.get("page"), "heading": s.get("heading")}
            for s in reply["sections"]
        ]
    error = reply.get("error") or {}
    code = str(error.get("code") or "corrupt")
    if code == "memory":
        on_memory()
    return _raise(code, error.get("params") or {})


def _raise(code: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    raise DocumentError(code, **{str(k): str(v) for k, v in params.items()})


class ParserPool:
    """A few ParseWorkers shared by threads; each parse borrows one worker."""

    def __init__(
        self, size: int = 2, memory_mb: int = DEFAULT_MEMORY_MB, command: list[str] | None = None
    ):
        self._idle: queue.Queue[ParseWorker] = queue.Queue()
        self._all = [ParseWorker(memory_mb, command) for _ in range(max(1, size))]
        for worker in self._all:
            self._idle.put(worker)
        self._lock = threading.Lock()

    def parse(
        self, path: str, kind: str, timeout: float = DEFAULT_TIMEOUT_S
    ) -> list[dict[str, Any]]:
        worker = self._idle.get()
        try:
            return worker.parse(path, kind, timeout)
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        with self._lock:
            for worker in self._all:
                worker.close()


def _serve(memory_mb: int) -> int:
    """Child main loop: one JSON request per line in, one JSON reply per line out."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints must not corrupt the protocol
    import logging

    logging.disable(logging.CRITICAL)
    from agent_app.knowledge.parsers import parse_file

    for raw in sys.stdin.buffer:
        fatal = False
        try:
            request = json.loads(raw)
            reply: dict[str, Any] = {
                "ok": True,
                "sections": parse_file(request["path"], request["kind"]),
            }
        except DocumentError as exc:
            reply = {"ok": False, "error": exc.to_json()}
        except MemoryError:
            reply, fatal = {"ok": False, "error": {"code": "memory", "params": {}}}, True
        except RecursionError:
            reply = {"ok": False, "error": {"code": "corrupt", "params": {}}}
        except Exception:  # noqa: BLE001 — any parser bug is "could not read this file"
            reply = {"ok": False, "error": {"code": "corrupt", "params": {}}}
        out.write(json.dumps(reply, ensure_ascii=False).encode("utf-8", "replace") + b"\n")
        out.flush()
        if fatal:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(_serve(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MEMORY_MB))
