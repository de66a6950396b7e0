"""Parse worker: a spawned child (childproc.JsonChild) with a memory cap, spoken to in JSON lines."""

from __future__ import annotations

import json
import os
import queue
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_app.childproc import ChildGone, JsonChild, reply_channel, write_message
from agent_app.knowledge.errors import DocumentError

# Protocol (UTF-8 JSON, one object per line, nothing pickled). The parent writes
# ``{"path": str, "kind": str, "chunking": {"size", "overlap", "max_chunks"} | null}``. The child
# may answer with progress lines ``{"stage": "chunking"}`` and ends with one reply:
# ``{"ok": true, "sections": [...]}`` (no chunking asked), ``{"ok": true, "pages": int | null,
# "chunks": [{"text", "page", "heading", "seg"}]}``, or ``{"ok": false, "error": {"code", "params"}}``.
# Parsing, chunking and jieba segmentation all run here: the CPU-heavy part of an ingest uses the
# worker's core, and a hostile file can only exhaust the worker. The parent enforces a wall-clock
# limit and kills the child on expiry; the child caps its own address space (RLIMIT_AS) and exits
# after a MemoryError so that the next file gets a fresh process.

DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT_S = 60.0
MAX_JOBS_PER_PROCESS = 200
_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "HOME", "SYSTEMROOT")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
Stage = Callable[[str], None]


class ParseWorker:
    """One child process; not thread-safe (ParserPool hands each to one caller at a time)."""

    def __init__(self, memory_mb: int = DEFAULT_MEMORY_MB, command: list[str] | None = None):
        self.memory_mb = memory_mb
        self.command = command or [
            sys.executable, "-m", "agent_app.knowledge.worker", str(memory_mb),
        ]  # fmt: skip
        self._child: JsonChild | None = None
        self._jobs = 0

    def _start(self) -> JsonChild:
        # Secrets stay in the parent: the child gets a minimal environment.
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env["PYTHONPATH"] = _PACKAGE_ROOT
        self._jobs = 0
        return JsonChild(self.command, env=env, cwd=_PACKAGE_ROOT, memory_mb=self.memory_mb)

    def parse(
        self, path: str, kind: str, timeout: float = DEFAULT_TIMEOUT_S
    ) -> list[dict[str, Any]]:
        """Sections of one file: [{"text", "page", "heading"}]."""
        reply = self._request({"path": path, "kind": kind, "chunking": None}, timeout, None)
        return [
            {"text": str(s["text"]), "page": s.get("page"), "heading": s.get("heading")}
            for s in reply["sections"]
        ]

    def prepare(
        self,
        path: str,
        kind: str,
        chunking: dict[str, int],
        timeout: float = DEFAULT_TIMEOUT_S,
        on_stage: Stage | None = None,
        ocr: bool = False,
    ) -> dict[str, Any]:
        """Parse, chunk and segment one file: {"pages", "chunks": [...], "scans": [...]}.

        `ocr`: text-less PDF pages and images come back as scans ({"page", "image"}, base64) for
        the parent to have read; without it such a file is refused as having no text.
        """
        request = {"path": path, "kind": kind, "chunking": chunking, "ocr": ocr}
        reply = self._request(request, timeout, on_stage)
        return {
            "pages": reply.get("pages"),
            "chunks": list(reply["chunks"]),
            "scans": list(reply.get("scans") or []),
        }

    def start(self) -> None:
        """Spawn the child now (it warms up while the parent does other work)."""
        if self._child is None or not self._child.alive or self._jobs >= MAX_JOBS_PER_PROCESS:
            self.close()
            self._child = self._start()

    def _request(
        self, request: dict[str, Any], timeout: float, on_stage: Stage | None
    ) -> dict[str, Any]:
        self.start()
        child = self._child
        assert child is not None
        self._jobs += 1
        deadline = time.monotonic() + timeout
        try:
            child.send(request)
            while True:
                message = child.read(deadline)
                if "ok" in message:
                    break
                if on_stage is not None and isinstance(message.get("stage"), str):
                    on_stage(message["stage"])
        except TimeoutError:
            message = {"ok": False, "error": {"code": "timeout"}}
        except ChildGone:
            message = {"ok": False, "error": {"code": "worker_crashed"}}
        if message.get("ok"):
            return message
        error = message.get("error") or {}
        code = str(error.get("code") or "corrupt")
        if code in ("memory", "timeout", "worker_crashed"):
            self.close()  # a fresh child for the next file
        raise DocumentError(
            code, **{str(k): str(v) for k, v in (error.get("params") or {}).items()}
        )

    def close(self) -> None:
        """Kill the child (if any) and reap it."""
        child, self._child = self._child, None
        if child is not None:
            child.close()


class ParserPool:
    """A few ParseWorkers shared by threads; each request borrows one worker."""

    def __init__(
        self, size: int = 2, memory_mb: int = DEFAULT_MEMORY_MB, command: list[str] | None = None
    ):
        self.size = max(1, size)
        self._idle: queue.Queue[ParseWorker] = queue.Queue()
        self._all = [ParseWorker(memory_mb, command) for _ in range(self.size)]
        for worker in self._all:
            self._idle.put(worker)

    def start(self) -> None:
        """Spawn every worker now, so that their start-up overlaps."""
        for worker in self._all:
            worker.start()

    def parse(
        self, path: str, kind: str, timeout: float = DEFAULT_TIMEOUT_S
    ) -> list[dict[str, Any]]:
        """Parse a file in an idle worker process; returns its sections."""
        worker = self._idle.get()
        try:
            return worker.parse(path, kind, timeout)
        finally:
            self._idle.put(worker)

    def prepare(self, path: str, kind: str, chunking: dict[str, int], timeout: float = DEFAULT_TIMEOUT_S,
                on_stage: Stage | None = None, ocr: bool = False) -> dict[str, Any]:  # fmt: skip
        """Parse and chunk a file in an idle worker process, reporting stages."""
        worker = self._idle.get()
        try:
            return worker.prepare(path, kind, chunking, timeout, on_stage, ocr)
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        """Stop every worker process."""
        for worker in self._all:
            worker.close()


def _handle(request: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """One request in the child: parse, and chunk + segment when asked."""
    from agent_app.knowledge.parsers import parse_file

    sections = parse_file(request["path"], request["kind"], scans=bool(request.get("ocr")))
    chunking = request.get("chunking")
    if not chunking:
        return {"ok": True, "sections": sections}
    emit({"stage": "chunking"})
    scans = [{"page": s["page"], "image": s["scan"]} for s in sections if "scan" in s]
    texts = [s for s in sections if "scan" not in s]
    pages = max((s["page"] or 0 for s in sections), default=0) or None
    rows = chunk_rows(texts, chunking) if texts else []
    return {"ok": True, "pages": pages, "chunks": rows, "scans": scans}


def chunk_rows(sections: list[dict[str, Any]], chunking: dict[str, int]) -> list[dict[str, Any]]:
    """Sections → chunk rows with their index segmentation (in the worker, or the parent for OCR)."""
    from agent_app.knowledge.chunking import chunk_sections
    from agent_app.knowledge.segment import segment_for_index

    return [
        {
            "text": c.text,
            "page": c.page,
            "heading": c.heading,
            "seg": segment_for_index(c.index_text),
        }
        for c in chunk_sections(sections, **chunking)
    ]


def _warm_up() -> None:
    """Load the parsers and jieba's dictionary before the first request arrives."""
    try:
        import docx  # noqa: F401
        import langchain_text_splitters  # noqa: F401
        import pypdf  # noqa: F401

        from agent_app.knowledge import chunking  # noqa: F401
        from agent_app.knowledge.segment import segment_for_index

        segment_for_index("预热")
    except (MemoryError, ImportError):  # a tight memory cap: load lazily instead
        pass


def _serve(memory_mb: int) -> int:
    """Child main loop: one JSON request per line in, progress lines and one reply out."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = reply_channel()
    import logging

    logging.disable(logging.CRITICAL)
    _warm_up()

    def emit(message: dict[str, Any]) -> None:
        write_message(out, message)

    for raw in sys.stdin.buffer:
        fatal = False
        try:
            reply = _handle(json.loads(raw), emit)
        except DocumentError as exc:
            reply = {"ok": False, "error": exc.to_json()}
        except MemoryError:
            reply, fatal = {"ok": False, "error": {"code": "memory", "params": {}}}, True
        except Exception:  # noqa: BLE001 — any parser bug is "could not read this file"
            reply = {"ok": False, "error": {"code": "corrupt", "params": {}}}
        emit(reply)
        if fatal:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(_serve(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MEMORY_MB))
