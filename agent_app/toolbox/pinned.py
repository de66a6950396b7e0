"""An httpx transport that connects only to addresses netguard validated (no DNS rebinding)."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import certifi
import httpcore
import httpx


class DeadlineStream(httpcore.NetworkStream):
    """Bounds every read and write by one absolute deadline.

    A slow drip of headers or body bytes cannot keep a request alive past it (each single read
    would otherwise get a fresh timeout).
    """

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner, self._deadline = inner, deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("deadline reached")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, with the timeout cut to what is left of the deadline."""
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write, with the timeout cut to what is left of the deadline."""
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the connection."""
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """Upgrade to TLS, with the timeout cut to what is left of the deadline."""
        left = self._left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        """Pass through to the wrapped stream."""
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Network backend that maps (host, port) to pinned IPs and never resolves names itself.

    httpcore hands us the URL's host name; we connect to the address checked for it, while
    httpcore still sends that name as the Host header and as TLS SNI, so certificates verify.
    """

    def __init__(
        self, inner: httpcore.NetworkBackend | None = None, deadline: float | None = None
    ) -> None:
        self._inner = inner or httpcore.SyncBackend()
        self._deadline = deadline
        self._pins: dict[tuple[str, int], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def pin(self, host: str, port: int, addresses: Sequence[str]) -> None:
        """Allow connections to `host:port`, only at these already-validated addresses."""
        with self._lock:
            self._pins[(host.lower(), port)] = tuple(addresses)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the validated address only, whatever the host name resolves to now."""
        with self._lock:
            addresses = self._pins.get((host.lower().strip("[]"), port), ())
        if not addresses:
            raise httpcore.ConnectError(f"no validated address for {host}:{port}")
        error: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return stream if self._deadline is None else DeadlineStream(stream, self._deadline)
        assert error is not None
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Refuse: the web reader never connects to a local socket."""
        raise httpcore.ConnectError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        """Sleep, as the default backend does."""
        self._inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx.HTTPTransport whose connection pool uses a PinnedBackend; proxies are never used."""

    def __init__(self, backend: PinnedBackend, *, verify: bool = True) -> None:
        context = ssl.create_default_context(cafile=certifi.where())
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        super().__init__(verify=context, trust_env=False)
        # httpx offers no public hook for the network backend, so the pool it built is replaced
        # by an identical one using ours; test_webreader checks this still routes every connect.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, network_backend=backend, max_connections=4, retries=0
        )
