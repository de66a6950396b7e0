"""The tool contract: every tool source loads through load_tools; every call runs through the guard.

Names are imported on first use, so a probe child importing `agent_app.toolbox.modules` does not
pay for the loader, the web reader and MCP.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "describe_error": "guard",
    "guarded_call": "guard",
    "prepare_tool": "guard",
    "safe_tool_output": "guard",
    "BUILTIN_NAMES": "loader",
    "builtin_tools": "loader",
    "load_tools": "loader",
    "ToolInfo": "registry",
    "Toolset": "registry",
    "mark_needs_approval": "registry",
    "needs_approval": "registry",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
