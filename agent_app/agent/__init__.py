"""The agent: graph factory (create_agent), its middleware, and the turn lifecycle (turn, stop, repair)."""
