"""The agent: graph factory (create_agent) and its middleware."""
