"""Threaded loopback HTTP server shared by the protocol fakes (replies, recording, FIFO)."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class RecordedRequest:
    """One request as the fake received it (headers have lower-case keys)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes

    @property
    def json(self) -> Any:
        """The parsed JSON body (None when the body was empty or not JSON)."""
        return self.body


@dataclass
class Reply:
    """A low-level HTTP answer: status, headers and the body as separate writes.

    `chunked` sends every part as its own HTTP chunk (with `pause` seconds between
    writes); `cut` drops the connection before the terminating chunk; `hang` accepts
    the request, sends nothing for that many seconds, then closes the connection.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    parts: list[bytes] = field(default_factory=list)
    chunked: bool = False
    cut: bool = False
    pause: float = 0.0
    hang: float | None = None


def json_reply(status: int, obj: Any, headers: dict[str, str] | None = None) -> Reply:
    """A complete JSON response with Content-Length."""
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return Reply(status=status, headers=hdrs, parts=[body])


def stream_reply(parts: Iterable[bytes], content_type: str, **kw: Any) -> Reply:
    """A 200 response whose parts go out as separate HTTP chunks."""
    headers = {"Content-Type": content_type, "Cache-Control": "no-cache"}
    headers.update(kw.pop("headers", {}))
    return Reply(status=200, headers=headers, parts=list(parts), chunked=True, **kw)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Small writes must leave at once so split chunks reach the client separately.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        raw = self._read_body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = RecordedRequest(self.command, self.path, headers, body, raw)
        fake = self.server.fake
        fake._record(req)
        try:
            reply = fake.handle(req)
        except Exception as exc:  # a bug in a script or default responder
            fake._record_error(exc)
            reply = json_reply(500, {"error": f"fake server error: {exc!r}"})
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, r: Reply) -> None:
        if r.hang is not None:
            self.server.fake._stopping.wait(r.hang)
            self.close_connection = True
            return
        self.send_response(r.status)
        for key, value in r.headers.items():
            self.send_header(key, value)
        if not r.chunked:
            body = b"".join(r.parts)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in r.parts:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            if r.pause:
                time.sleep(r.pause)
        if r.cut:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(b"0\r\n\r\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients dropping idle keep-alive connections is normal; record anything else.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, (ConnectionError, TimeoutError)):
            self.fake._record_error(exc)


class FakeServer:
    """Base of the fakes: lifecycle, a FIFO of scripted answers, recorded requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Any] = deque()
        self._requests: list[RecordedRequest] = []
        self._errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.default: Callable[[Any], Any] | None = None

    # lifecycle -------------------------------------------------------------
    def start(self) -> FakeServer:
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = _Server(self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.02},
                name=type(self).__name__,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # scripting -------------------------------------------------------------
    def push(self, *responses: Any) -> None:
        """Queue answers; each chat request consumes the oldest one."""
        for resp in responses:
            self._check_script(resp)
        with self._lock:
            self._queue.extend(responses)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _check_script(self, resp: Any) -> None:
        """Subclasses reject scripts their protocol cannot render (at push time)."""

    def _pop(self) -> Any:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _next_script(self, req: RecordedRequest) -> Any:
        script = self._pop()
        if script is None and self.default is not None:
            script = self.default(req.body or {})
        return script

    # recording -------------------------------------------------------------
    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)

    def _record_error(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside scripts/default responders (answered as 500)."""
        with self._lock:
            return list(self._errors)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Recorded requests whose path (without query) equals `path`."""
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def clear(self) -> None:
        """Forget queued scripts and recorded requests."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._errors.clear()

    def handle(self, req: RecordedRequest) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError
