"""Storage: SQLite connections, the checkpointer and the thread registry."""
