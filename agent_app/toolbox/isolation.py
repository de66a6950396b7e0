"""Import isolation: new tool sources are first imported in a throw-away child process.

The child is a fork of the app (POSIX: a few ms, langchain already imported) or, where fork is
unavailable, a fresh interpreter. It imports the jobs in order and streams one JSON line per step;
the parent imports a job itself only after the child reported it clean, and does so while the
child goes on with the next one (a pipeline). A job that takes longer than `timeout` gets the
child killed (SIGKILL) and is reported disabled; a new child continues after it.

Sources whose exact content passed the probe before are remembered in the data directory
(KnownGood) and imported directly, in a thread with a deadline: a hang there still costs only the
timeout, but a crash of the interpreter or a loop holding the GIL is caught only by the probe.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from langchain_core.tools import BaseTool

from agent_app.toolbox.modules import Job, module_name, produce_tools

_SPAWN_CODE = "from agent_app.toolbox.isolation import spawn_main; spawn_main()"


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of importing one job in the child."""

    ok: bool
    reason: str = ""


def _child_loop(jobs: Sequence[Job], start: int, fd: int) -> None:
    from agent_app.toolbox.guard import describe_error

    def emit(message: dict[str, object]) -> None:
        os.write(fd, (json.dumps(message) + "\n").encode())

    for index in range(start, len(jobs)):
        emit({"i": index, "start": True})
        try:
            produce_tools(jobs[index])
            emit({"i": index, "ok": True})
        except BaseException as exc:  # SystemExit and KeyboardInterrupt at import count too
            emit({"i": index, "ok": False, "reason": describe_error(exc)})


def _silence_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


class _Child:
    """A running probe child: a readable fd plus how to stop it."""

    def __init__(self, jobs: Sequence[Job], start: int, mode: str) -> None:
        self.buffer = b""
        self._pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        if mode == "fork":
            read_fd, write_fd = os.pipe()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # child: no cleanup handlers of the parent may run here
                try:
                    gc.disable()  # short-lived; collecting would copy every shared page
                    os.close(read_fd)
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    _silence_stdio()
                    _child_loop(jobs, start, write_fd)
                finally:
                    os._exit(0)
            os.close(write_fd)
            self._pid, self.fd = pid, read_fd
        else:
            payload = {"sys_path": sys.path, "start": start, "jobs": [asdict(j) for j in jobs]}
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _SPAWN_CODE], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(json.dumps(payload).encode())
            self._proc.stdin.close()
            self.fd = self._proc.stdout.fileno()

    def read_line(self, timeout: float) -> dict[str, object] | None:
        """Next message, None on EOF; raises TimeoutError when nothing arrives in time."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        message: dict[str, object] = json.loads(line)
        return message

    def stop(self) -> None:
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self._pid, 0)
            os.close(self.fd)
        elif self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()


def default_mode() -> str:
    return "fork" if hasattr(os, "fork") else "spawn"


def probe(
    jobs: Sequence[Job], *, timeout: float = 3.0, budget: float = 30.0, mode: str | None = None
) -> Iterator[tuple[int, ProbeResult]]:
    """Yield (index, result) for every job, in order, as soon as the child reports it."""
    mode = mode or default_mode()
    end = time.monotonic() + budget
    start_wait = timeout if mode == "fork" else timeout + 30.0  # a fresh interpreter boots first
    index = 0
    # While a forked child lives, the parent's collector would touch (and so copy) shared pages;
    # freezing the existing heap keeps collections to the objects created meanwhile.
    gc.freeze()
    try:
        while index < len(jobs):
            child = _Child(jobs, index, mode)
            try:
                index = yield from _drain(child, jobs, index, timeout, start_wait, end)
            finally:
                child.stop()
    finally:
        gc.unfreeze()


def _drain(
    child: _Child, jobs: Sequence[Job], index: int, timeout: float, first_wait: float, end: float
) -> Generator[tuple[int, ProbeResult], None, int]:
    current, wait = index, first_wait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            for rest in range(current, len(jobs)):
                yield rest, ProbeResult(False, "not checked: the import time budget ran out")
            return len(jobs)
        try:
            message = child.read_line(min(wait, left))
        except TimeoutError:
            if time.monotonic() >= end:
                continue
            yield current, ProbeResult(False, f"import timed out after {timeout:g} s")
            return current + 1
        if message is None:  # the child died: os._exit, a crash, or an OOM kill
            if current >= len(jobs):
                return len(jobs)
            yield current, ProbeResult(False, "import crashed the interpreter")
            return current + 1
        current, wait = int(str(message["i"])), timeout
        if "ok" in message:
            yield current, ProbeResult(bool(message["ok"]), str(message.get("reason", "")))
            current += 1
            if current >= len(jobs):
                return len(jobs)


def spawn_main() -> None:
    """Entry of the spawn-mode child: read jobs from stdin, report on the original stdout."""
    payload = json.loads(sys.stdin.read())
    sys.path[:] = payload["sys_path"]
    out_fd = os.dup(1)
    _silence_stdio()
    jobs = [Job(**job) for job in payload["jobs"]]
    _child_loop(jobs, int(payload["start"]), out_fd)


class KnownGood:
    """Content hashes of sources that passed the probe; kept in the data directory, never tools/."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.keys: set[str] = set(json.loads(path.read_text("utf-8"))["ok"])
        except (OSError, ValueError, KeyError, TypeError):
            self.keys = set()
        self._loaded = set(self.keys)

    @staticmethod
    def key(job: Job) -> str:
        """Identity of exactly this source: file content hash, or distribution version."""
        if job.kind != "file":
            return f"ep:{job.target}:{job.signature}:{sys.version_info[:2]}"
        try:
            digest = hashlib.sha256(Path(job.target).read_bytes()).hexdigest()
        except OSError:
            return ""
        return f"file:{job.target}:{digest}:{sys.version_info[:2]}"

    def save(self) -> None:
        """Write atomically when changed; a read-only data directory only costs the speed-up."""
        if self.keys == self._loaded:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tool_probe.")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"ok": sorted(self.keys)}, fh)
            os.replace(tmp, self.path)
            self._loaded = set(self.keys)


def import_with_deadline(
    jobs: Sequence[Job], timeout: float
) -> dict[Job, tuple[list[BaseTool] | None, str]]:
    """Import sources on one worker thread; the caller sleeps until it is done, or until one
    import overruns `timeout` (that job is abandoned and a new worker takes the rest)."""
    from agent_app.toolbox.guard import describe_error

    outcomes: dict[Job, tuple[list[BaseTool] | None, str]] = {}
    pending = list(jobs)
    while pending:
        local: dict[Job, tuple[list[BaseTool] | None, str]] = {}
        progress = [(0, time.monotonic())]  # (index, started) replaced as one object
        done = threading.Event()

        def work(batch: list[Job] = pending, local: dict = local, progress: list = progress,
                 done: threading.Event = done) -> None:
            for index, job in enumerate(batch):
                progress[0] = (index, time.monotonic())
                try:
                    local[job] = (produce_tools(job), "")
                except BaseException as exc:  # reported as the job's reason
                    local[job] = (None, describe_error(exc))
            done.set()

        threading.Thread(target=work, name="tool-import", daemon=True).start()
        while not done.wait(max(0.0, progress[0][1] + timeout - time.monotonic())):
            if time.monotonic() - progress[0][1] >= timeout:
                break
        index = len(pending) if done.is_set() else progress[0][0]
        outcomes.update((job, local[job]) for job in pending[:index])
        if index < len(pending):
            hung = pending[index]
            if hung.kind == "file":
                sys.modules.pop(module_name(hung.target), None)
            outcomes[hung] = (None, f"import timed out after {timeout:g} s")
        pending = pending[index + 1:]
    return outcomes
