"""The LangGraph SQLite checkpointer: strict deserialization, and only the last few checkpoints kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from agent_app.storage.backend import Target, is_postgres
from agent_app.storage.sqlite import connect

KEEP_CHECKPOINTS = 2
"""Per thread and namespace. Resume, approval and retry read only the latest checkpoint (and its
pending writes); one older is kept for safety. Each checkpoint holds the whole history, so keeping
all of them grows with the square of the turn count."""
WAL_LIMIT_BYTES = 8 * 1024 * 1024  # truncate the WAL to this after a checkpoint of the WAL


class PruningSqliteSaver(SqliteSaver):
    """A SqliteSaver that deletes all but the newest checkpoints of a thread after each put."""

    keep: int = KEEP_CHECKPOINTS

    def put(
        self, config: RunnableConfig, checkpoint: Any, metadata: Any, new_versions: Any
    ) -> RunnableConfig:
        """Store the checkpoint, then drop the thread's oldest beyond the ones kept."""
        saved = super().put(config, checkpoint, metadata, new_versions)
        conf = saved["configurable"]
        self.prune_thread(str(conf["thread_id"]), str(conf.get("checkpoint_ns", "")))
        return saved

    def prune_thread(self, thread_id: str, checkpoint_ns: str = "") -> int:
        """Delete the checkpoints (and their writes) older than the newest `keep`; returns the count.

        SqliteSaver implements no `prune()`, so this is SQL on its two tables. Checkpoint ids are
        uuid6, ordered by time, as SqliteSaver itself relies on to find the latest. The graph keeps
        its messages in a plain reducer channel (no DeltaChannel), so no kept checkpoint needs an
        ancestor to be rebuilt.
        """
        where = "thread_id = ? AND checkpoint_ns = ?"
        with self._quiet_transaction() as cur:
            row = cur.execute(
                f"SELECT checkpoint_id FROM checkpoints WHERE {where} "
                "ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?",
                (thread_id, checkpoint_ns, self.keep - 1),
            ).fetchone()
            if row is None:
                return 0
            args = (thread_id, checkpoint_ns, row[0])
            cur.execute(f"DELETE FROM writes WHERE {where} AND checkpoint_id < ?", args)
            return int(
                cur.execute(
                    f"DELETE FROM checkpoints WHERE {where} AND checkpoint_id < ?", args
                ).rowcount
            )

    @contextmanager
    def _quiet_transaction(self) -> Iterator[Any]:
        """One transaction at synchronous=NORMAL: no extra fsync per turn.

        Losing a prune to a power cut only leaves older checkpoints behind for the next one; the
        checkpoint itself was committed (and fsync'd at FULL) before.
        """
        with self.cursor(transaction=False) as cur:
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.execute("PRAGMA synchronous=FULL")


def open_checkpointer(target: Target, *, keep: int = KEEP_CHECKPOINTS) -> BaseCheckpointSaver[Any]:
    """The pruning checkpointer of the target: SQLite (WAL, FULL) or PostgreSQL (a URL)."""
    if is_postgres(target):
        from agent_app.storage.pg import open_pg_checkpointer

        return cast(BaseCheckpointSaver[Any], open_pg_checkpointer(str(target), keep=1))
    return open_sqlite_checkpointer(Path(target), keep=keep)


def open_sqlite_checkpointer(path: Path, *, keep: int = KEEP_CHECKPOINTS) -> SqliteSaver:
    """A pruning SqliteSaver on its own WAL connection; msgpack ext types limited to the allowlist."""
    saver = PruningSqliteSaver(
        connect(path), serde=JsonPlusSerializer(allowed_msgpack_modules=None)
    )
    saver.keep = max(1, int(keep))
    saver.setup()
    # setup() switches to WAL itself; make sure FULL durability survives it. Pages freed by the
    # pruning are reused by the next checkpoints, and the WAL is cut back after each checkpoint.
    saver.conn.execute("PRAGMA synchronous=FULL")
    saver.conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
    return saver
