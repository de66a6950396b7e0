"""agent-app: a Qwen-first agent chat application."""

import os as _os
from importlib.metadata import PackageNotFoundError as _NotInstalled
from importlib.metadata import version as _version

# Checkpoints must only deserialize allow-listed types, and langgraph reads this switch at import.
_os.environ["LANGGRAPH_STRICT_MSGPACK"] = "true"

try:
    # pyproject.toml holds the one version number; the installed metadata carries it here.
    __version__ = _version("agent-app")
except _NotInstalled:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
