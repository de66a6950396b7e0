"""The agent on LangGraph Server: the graph factory it serves and the client that streams from it."""

GRAPH_ID = "agent"
"""The graph's name in langgraph.json (the assistant a client runs)."""
