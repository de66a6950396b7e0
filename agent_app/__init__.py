"""agent-app: a Qwen-first agent chat application."""

import os as _os

# Checkpoint deserialization must be strict (RELIABILITY B6); langgraph reads this at import.
_os.environ["LANGGRAPH_STRICT_MSGPACK"] = "true"

__version__ = "0.1.0"
