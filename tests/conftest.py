"""Shared fixtures; a guard that fails any network connection that is not loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

import pytest

pytest_plugins = ["tests.plugins.tracked_files"]
os.environ["LANGGRAPH_STRICT_MSGPACK"] = "true"
os.environ.pop("DASHSCOPE_API_KEY", None)
os.environ.pop("OPENAI_API_KEY", None)
os.environ.setdefault("AGENT_APP_LOG_LEVEL", "WARNING")
CANARY = "sk-CANARY-0123456789"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        host = str(address[0])
        if host in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False
    return True


class NetworkBlocked(RuntimeError):
    """A test tried to leave the machine."""


def _guarded_connect(self: socket.socket, address: object) -> object:
    if not _is_loopback(address):
        raise NetworkBlocked(f"non-loopback connection attempted: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> object:
    if not _is_loopback(address):
        raise NetworkBlocked(f"non-loopback connection attempted: {address!r}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(data_dir):
    from agent_app.settings import Settings

    return Settings(data_dir=data_dir, provider="offline", _env_file=None)


@pytest.fixture(autouse=True)
def _no_background_extraction(monkeypatch):
    """Scripted models answer in order; background extraction would eat their script."""
    monkeypatch.setenv("AGENT_APP_MEMORY_EXTRACT", "false")
    monkeypatch.setenv("AGENT_APP_TITLE_MODEL", "false")  # a title call would eat a reply too


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Streamlit's AppTest installs its script as `__main__` and leaves it there; a later
    multiprocessing "spawn" child would then re-run that script (and fail). Put the real one back."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the whole session (tests/pg_local.py), on a free loopback port."""
    from tests.pg_local import ServerUnavailable, start_local_postgres, stop_local_postgres

    try:
        server = start_local_postgres()
    except ServerUnavailable as exc:
        pytest.skip(f"PostgreSQL cannot start here: {exc}")
    try:
        server.create_database("agent_app_test")
        if server.has_pgvector():
            import psycopg

            with psycopg.connect(server.url("agent_app_test"), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        yield server
    finally:
        stop_local_postgres(server)


@pytest.fixture
def pg_url(pg_server):
    """A URL whose tables land in a fresh schema of the session's database (dropped afterwards)."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = pg_server.url("agent_app_test")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{base}?options=-csearch_path%3D{schema},public"
    from agent_app.storage.pg import close_all_pools

    close_all_pools()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    """Where the relational stores live: a SQLite file or a PostgreSQL URL (same tests, both)."""
    if request.param == "sqlite":
        return "sqlite"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db_settings(data_dir, backend):
    """Offline settings whose database is the backend under test (SQLite files, or PostgreSQL)."""
    from agent_app.settings import Settings

    url = None if backend == "sqlite" else backend
    return Settings(data_dir=data_dir, provider="offline", database_url=url, _env_file=None)
