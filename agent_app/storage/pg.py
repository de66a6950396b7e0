"""PostgreSQL: connection pools that survive a server restart, schema set-up under an advisory lock."""

from __future__ import annotations

import logging
import re
import select
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from agent_app.errors import DatabaseUnavailableError
from agent_app.logsetup import register_secret
from agent_app.storage.backend import DuplicateKeyError

log = logging.getLogger(__name__)
SCHEMA_LOCK = 0x61676E74  # pg_advisory_lock key: one process at a time creates or migrates tables
WRITE_LOCK = 0x61676E75  # taken by serialized transactions (as SQLite's BEGIN IMMEDIATE)
KB_WRITE_LOCK = 0x61676E76  # the knowledge base's writers (ingests need not wait for turns)
CONNECT_TIMEOUT_S = 10
LOCK_POLL_S = 0.05
POOL_MAX = 4
# maintenance_work_mem of an HNSW build over many rows: below the graph's size (100k × 512 floats
# is about 300 MB) pgvector falls back to a build several times slower.
INDEX_BUILD_MEMORY = "512MB"
QUIET_TRUST_S = 30.0  # an idle connection younger than this is checked without a round trip
_pools: weakref.WeakSet[QuickPool] = weakref.WeakSet()
_pools_lock = threading.Lock()


def redact(url: str) -> str:
    """The URL with its password replaced (safe for logs and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:****@{netloc[1]}"))


def _reason(exc: BaseException) -> str:
    text = str(exc).lower()
    if "password" in text or "authentication" in text:
        return "auth"
    if "does not exist" in text:
        return "missing"
    return "unreachable"


def unavailable(exc: BaseException, url: str) -> DatabaseUnavailableError:
    """A user-facing error for a failed connection: why, never the password or the server's text."""
    reason = _reason(exc)
    log.warning("database %s unavailable (%s: %s)", redact(url), type(exc).__name__, reason)
    return DatabaseUnavailableError(f"{reason}: {redact(url)}", key=f"error.database_{reason}")


def _quiet(conn: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection has nothing to read: the server has not closed it.

    A server that restarts or ends a session sends its goodbye and closes the socket, so an idle
    connection it dropped is readable. Checking that costs a system call instead of a round trip
    on every statement; anything unexpected waiting gets the round trip.
    """
    if conn.closed or conn.broken:
        return False
    poller = select.poll()  # not select(): it fails on descriptors above 1023
    poller.register(conn.fileno(), select.POLLIN)
    return not poller.poll(0)


class QuickPool(ConnectionPool):
    """Idle connections reused, new ones made on demand: a down server fails at once.

    No retry backoff: the first action after the server is back reconnects. Typed as a psycopg
    ConnectionPool, which LangGraph's saver and store accept, though none of its machinery runs.
    """

    def __init__(self, url: str, *, max_idle: int = POOL_MAX) -> None:  # noqa: D107
        self.url, self.max_idle, self.name = url, max_idle, "agent-app"
        self._idle: list[tuple[psycopg.Connection[Any], float]] = []  # with when it went idle
        self._guard = threading.Lock()
        self._closed = False

    def _new(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self.url, autocommit=True, prepare_threshold=0, connect_timeout=CONNECT_TIMEOUT_S
        )

    def _take(self) -> psycopg.Connection[Any]:
        while True:
            with self._guard:
                conn, since = self._idle.pop() if self._idle else (None, 0.0)
            if conn is None:
                return self._new()
            # A network path can drop a long-idle connection without a word (a NAT, a proxy):
            # past QUIET_TRUST_S idle, a round trip checks it.
            if time.monotonic() - since < QUIET_TRUST_S and _quiet(conn):
                return conn
            try:  # bytes waiting: maybe the server's goodbye (restart); a round trip tells
                conn.execute("")
                return conn
            except psycopg.Error:
                conn.close()

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection[Any]]:
        """A checked connection, back to the idle list afterwards when still usable."""
        conn = self._take()
        try:
            yield conn
        finally:
            reusable = not (conn.broken or conn.closed) and conn.info.transaction_status == 0
            with self._guard:
                if reusable and not self._closed and len(self._idle) < self.max_idle:
                    self._idle.append((conn, time.monotonic()))
                    conn = None  # type: ignore[assignment]
            if conn is not None:
                conn.close()

    def close(self, timeout: float = 0) -> None:
        """Close the idle connections; the pool makes no new ones afterwards."""
        with self._guard:
            self._closed, idle, self._idle = True, self._idle, []
        for conn, _ in idle:
            conn.close()

    def __del__(self) -> None:  # noqa: D105
        return None


def open_pool(url: str, *, max_size: int = POOL_MAX) -> QuickPool:
    """A pool for the URL, its first connection made now (a wrong URL or password fails here)."""
    password = urlsplit(url).password
    if password:
        register_secret(unquote(password))  # masked in every log line, whatever quotes it
    pool = QuickPool(url, max_idle=max_size)
    try:
        with pool.connection():
            pass
    except psycopg.Error as exc:
        raise unavailable(exc, url) from None
    with _pools_lock:
        _pools.add(pool)
    return pool


def close_all_pools() -> None:
    """Close every pool this process opened (tests, before dropping their database)."""
    with _pools_lock:
        pools = list(_pools)
    for pool in pools:
        pool.close(timeout=0)


def with_options(url: str, options: str) -> str:
    """The URL with server options added to its `options` parameter (e.g. "-c name=value")."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    given = next((v for k, v in query if k == "options"), "")
    query = [(k, v) for k, v in query if k != "options"] + [
        ("options", f"{given} {options}".strip())
    ]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


@lru_cache(maxsize=512)
def to_pg(sql: str) -> str:
    """SQLite-style SQL for psycopg: `?` placeholders become `%s`, literal `%` is doubled."""
    return re.sub(r"\?", "%s", sql.replace("%", "%%"))


@contextmanager
def schema_lock(pool: QuickPool) -> Iterator[None]:
    """Hold the schema lock (session level) while the body creates or migrates tables.

    Taken by polling, never by a statement that waits: LangGraph's migrations run CREATE INDEX
    CONCURRENTLY, which waits for every open snapshot, and a process blocked in
    pg_advisory_lock holds one, while the lock's holder waits for that index: two processes
    starting together on a fresh database would wait for each other for ever.
    """
    with pool.connection() as conn:
        while not _try_lock(conn):
            time.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def _try_lock(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", (SCHEMA_LOCK,)).fetchone()
    return bool(row and row[0])


def create_schema(pool: QuickPool, schema: str) -> None:
    """Run `CREATE … IF NOT EXISTS` statements once, whichever process starts first."""
    statements = [s.strip() for s in schema.split(";") if s.strip()]
    with schema_lock(pool), pool.connection() as conn, conn.transaction():
        for statement in statements:
            conn.execute(statement)


class _Result:
    """Rows fetched before the connection goes back to the pool."""

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self.rowcount = cur.rowcount
        self._rows = cur.fetchall() if cur.description else []
        self._at = 0

    def fetchone(self) -> Any:
        """The next row, or None."""
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        rows, self._at = self._rows[self._at :], len(self._rows)
        return rows


class _Tx:
    """The executor of one transaction on one pooled connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Result:
        """Run one statement inside the transaction."""
        with self.conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(to_pg(sql), tuple(params))
            return _Result(cur)


class PgBackend:
    """A pool of connections to one database; statements autocommit, transactions serialize."""

    def __init__(self, url: str, schema: str, *, write_lock: int = WRITE_LOCK) -> None:
        self.url, self.write_lock = url, write_lock
        self.pool = open_pool(url)
        try:
            create_schema(self.pool, schema)
        except psycopg.OperationalError as exc:
            self.pool.close(timeout=0)
            raise unavailable(exc, url) from None

    def close(self) -> None:
        """Close the pool."""
        self.pool.close(timeout=1)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Result:
        """Run one statement on a pooled connection."""
        try:
            with self.pool.connection() as conn:
                return _Tx(conn).execute(sql, params)
        except psycopg.errors.UniqueViolation as err:
            raise DuplicateKeyError(type(err).__name__) from None
        except psycopg.OperationalError as exc:
            raise unavailable(exc, self.url) from None

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        """One transaction holding the write lock, so concurrent ones run one after another."""
        try:
            with self.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.write_lock,))
                yield _Tx(conn)
        except psycopg.OperationalError as exc:
            raise unavailable(exc, self.url) from None


def open_pg_checkpointer(url: str, keep: int) -> Any:
    """LangGraph's PostgresSaver on its own pool: tables set up once, strict msgpack, pruned."""
    from agent_app.storage.pg_checkpoints import PruningPostgresSaver

    pool = open_pool(url)
    saver = PruningPostgresSaver(pool)
    saver.keep = max(1, int(keep))
    try:
        with schema_lock(pool):
            saver.setup()
    except psycopg.OperationalError as exc:
        pool.close(timeout=0)
        raise unavailable(exc, url) from None
    return saver
