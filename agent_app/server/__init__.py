"""The agent on LangGraph Server: the graph factory it serves and the client that streams from it."""
