"""The LangGraph PostgreSQL checkpointer, pruned after each checkpoint like the SQLite one."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from psycopg_pool import ConnectionPool

# One statement, one round trip: the thread's root checkpoints older than the one just written,
# their pending writes, and the channel values no remaining checkpoint names (a newer checkpoint,
# e.g. one a second `db migrate` finds already there, keeps its own). Checkpoint ids are uuid6,
# ordered by time, as PostgresSaver finds the latest by that order too. The statement's parts run
# on one snapshot, so the values test only looks at the checkpoints that stay.
PRUNE_SQL = """
WITH old AS (
    DELETE FROM checkpoints
    WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND checkpoint_id < %(latest)s
), old_writes AS (
    DELETE FROM checkpoint_writes
    WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND checkpoint_id < %(latest)s
), orphan AS (
    UPDATE checkpoints SET parent_checkpoint_id = NULL
    WHERE thread_id = %(thread)s AND checkpoint_ns = '' AND checkpoint_id = %(latest)s
      AND parent_checkpoint_id IS NOT NULL
)
DELETE FROM checkpoint_blobs b
WHERE b.thread_id = %(thread)s AND b.checkpoint_ns = ''
  AND NOT EXISTS (
    SELECT 1 FROM checkpoints c
    WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = '' AND c.checkpoint_id >= %(latest)s
      AND c.checkpoint -> 'channel_versions' ->> b.channel = b.version)
"""


class PruningPostgresSaver(PostgresSaver):
    """PostgresSaver keeping only each thread's latest checkpoint (with its pending writes).

    Resume, approval and retry read only the latest checkpoint; every checkpoint stores the whole
    message list, so keeping them all grows with the square of the turn count. PostgresSaver's own
    `prune` takes a dozen statements per call; this is one, after every turn's checkpoint. It
    relies on what this app's graph is: `create_agent`'s state (messages through `add_messages`,
    no DeltaChannel), no subgraphs (only the root namespace is pruned).
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
            with self._cursor() as cur:
                cur.execute(
                    PRUNE_SQL,
                    {"thread": str(conf["thread_id"]), "latest": str(conf["checkpoint_id"])},
                )
        return saved
