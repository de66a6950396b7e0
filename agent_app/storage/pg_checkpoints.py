"""The LangGraph PostgreSQL checkpointer, pruned after each checkpoint like the SQLite one."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

# One statement, one round trip: the thread's older root checkpoints, their pending writes, and
# the channel values only they referenced. Checkpoint ids are uuid6, ordered by time (PostgresSaver
# finds the latest by that order too); a value the latest checkpoint still names is kept.
PRUNE_SQL = """
WITH old AS (
    DELETE FROM checkpoints
    WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND checkpoint_id < %(latest)s
), old_writes AS (
    DELETE FROM checkpoint_writes
    WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND checkpoint_id < %(latest)s
)
DELETE FROM checkpoint_blobs
WHERE thread_id = %(thread)s AND checkpoint_ns = ''
  AND (%(versions)s::jsonb ->> channel) IS DISTINCT FROM version
"""


class PruningPostgresSaver(PostgresSaver):
    """PostgresSaver keeping only each thread's latest checkpoint (with its pending writes).

    Resume, approval and retry read only the latest checkpoint; every checkpoint stores the whole
    message list, so keeping them all grows with the square of the turn count. PostgresSaver's own
    `prune` takes a dozen statements per call (it also handles formats this app never writes);
    this is one, after every turn's checkpoint.
    """

    keep: int = 1

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        super().__init__(pool, serde=JsonPlusSerializer(allowed_msgpack_modules=None))

    def put(
        self, config: RunnableConfig, checkpoint: Any, metadata: Any, new_versions: Any
    ) -> RunnableConfig:
        """Store the checkpoint, then prune the thread's older ones (root namespace only)."""
        saved = super().put(config, checkpoint, metadata, new_versions)
        conf = saved["configurable"]
        if not conf.get("checkpoint_ns") and self.keep <= 1:
            versions = {k: str(v) for k, v in checkpoint.get("channel_versions", {}).items()}
            with self._cursor() as cur:
                cur.execute(
                    PRUNE_SQL,
                    {"thread": str(conf["thread_id"]), "latest": str(conf["checkpoint_id"]),
                     "versions": Jsonb(versions)},
                )  # fmt: skip
        return saved
