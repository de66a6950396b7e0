"""Import isolation: new tool sources are first imported in throw-away child processes.

The probe host is a fresh interpreter (`childproc.JsonChild`), never a `fork()` of the app: the
Streamlit server is multi-threaded, and a forked copy can inherit a lock another thread held. The
host is single-threaded, so it may fork: it boots once (Python and langchain), then forks one
short-lived importer per run of jobs — a few milliseconds each — and reports one JSON line per
job. An importer that takes longer than `timeout` on one job is killed (SIGKILL) and that job is
reported disabled; a new importer continues after it. The parent imports a job itself only after
the host reported it clean (with a deadline too, see loader.py), while the host goes on with the
next one (a pipeline).

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
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool

from agent_app.childproc import ChildGone, JsonChild, reply_channel, write_message
from agent_app.toolbox.modules import Job, module_name, produce_tools

_PROBE_CODE = "from agent_app.toolbox.isolation import probe_main; probe_main()"
BOOT_WAIT_S = 60.0
"""How long the host may take to start (a loaded machine boots Python and langchain slowly)."""
_SLACK_S = 5.0


@dataclass(frozen=True)
class ProbeResult:
    """Outcome of importing one job in the child."""

    ok: bool
    reason: str = ""


def probe(
    jobs: Sequence[Job],
    *,
    timeout: float = 3.0,
    budget: float = 30.0,
    stats: dict[str, float] | None = None,
) -> Iterator[tuple[int, ProbeResult]]:
    """Start the host now; the iterator yields (index, result) for every job, in order.

    Each result comes as soon as the host reports it. `stats["probe_start_ms"]` is how long the
    host took to boot.
    """
    host = JsonChild([sys.executable, "-c", _PROBE_CODE])  # the app's environment: a module
    # may read its configuration at import
    host.send({"sys_path": sys.path, "timeout": timeout, "jobs": [asdict(j) for j in jobs]})
    results = _results(host, len(jobs), timeout, budget, stats)
    weakref.finalize(results, host.close)  # also when the caller never starts iterating
    return results


def _results(
    host: JsonChild, count: int, timeout: float, budget: float, stats: dict[str, float] | None
) -> Iterator[tuple[int, ProbeResult]]:
    started, done = time.monotonic(), 0
    try:
        host.read(started + BOOT_WAIT_S)  # {"ready": true}
        if stats is not None:
            stats["probe_start_ms"] = round((time.monotonic() - started) * 1000, 2)
        end = time.monotonic() + budget
        while done < count:
            message = host.read(min(end, time.monotonic() + timeout + _SLACK_S))
            done = int(str(message["i"])) + 1
            yield done - 1, ProbeResult(bool(message["ok"]), str(message.get("reason", "")))
    except (TimeoutError, ChildGone):
        for rest in range(done, count):
            yield rest, ProbeResult(False, "not checked: the import time budget ran out")
    finally:
        host.close()


def probe_main() -> None:
    """Entry of the probe host: boot, read the jobs, fork importers until every job has a result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the terminal is the parent's business
    out = reply_channel()
    write_message(out, {"ready": True})
    payload = json.loads(sys.stdin.readline() or "null")
    if not isinstance(payload, dict):
        return
    sys.path[:] = payload["sys_path"]
    jobs = [Job(**job) for job in payload["jobs"]]
    index = 0
    while index < len(jobs):
        index = _run_importer(jobs, index, float(payload["timeout"]), out)


def _import_jobs(jobs: Sequence[Job], start: int, fd: int) -> None:
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


def _run_importer(jobs: Sequence[Job], start: int, timeout: float, out: Any) -> int:
    """Fork one importer for jobs[start:], relay its results; the index to continue from."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()  # the host is single-threaded: forking it is safe
    if pid == 0:
        try:
            gc.disable()  # short-lived; collecting would copy every shared page
            os.close(read_fd)
            _import_jobs(jobs, start, write_fd)
        finally:
            os._exit(0)
    os.close(write_fd)
    current, buffer = start, b""
    try:
        while True:
            if b"\n" not in buffer:
                if not select.select([read_fd], [], [], timeout)[0]:
                    reason = f"import timed out after {timeout:g} s"
                    write_message(out, {"i": current, "ok": False, "reason": reason})
                    return current + 1
                chunk = os.read(read_fd, 65536)
                if not chunk:  # the importer died: os._exit, a crash, or an OOM kill
                    if current < len(jobs):
                        write_message(
                            out,
                            {"i": current, "ok": False, "reason": "import crashed the interpreter"},
                        )
                    return current + 1
                buffer += chunk
                continue
            line, _, buffer = buffer.partition(b"\n")
            message = json.loads(line)
            current = int(message["i"])
            if "ok" in message:
                write_message(out, message)
                current += 1
                if current >= len(jobs):
                    return current
    finally:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
        os.close(read_fd)


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
    """Import sources on one worker thread, each within `timeout`.

    The caller sleeps until it is done, or until one import overruns `timeout` (that job is
    abandoned and a new worker takes the rest).
    """
    from agent_app.toolbox.guard import describe_error

    outcomes: dict[Job, tuple[list[BaseTool] | None, str]] = {}
    pending = list(jobs)
    while pending:
        local: dict[Job, tuple[list[BaseTool] | None, str]] = {}
        progress = [(0, time.monotonic())]  # (index, started) replaced as one object
        done = threading.Event()

        def work(
            batch: list[Job] = pending,
            local: dict = local,
            progress: list = progress,
            done: threading.Event = done,
        ) -> None:
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
        pending = pending[index + 1 :]
    return outcomes
