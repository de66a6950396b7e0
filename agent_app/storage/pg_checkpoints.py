"""The LangGraph PostgreSQL checkpointer, pruned after each checkpoint like the SQLite one."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from psycopg_pool import ConnectionPool


class PruningPostgresSaver(PostgresSaver):
    """PostgresSaver keeping only each thread's latest checkpoint (with its pending writes).

    Resume, approval and retry read only the latest checkpoint; every checkpoint stores the whole
    message list, so keeping them all grows with the square of the turn count.
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
            self.prune([str(conf["thread_id"])], strategy="keep_latest")
        return saved
