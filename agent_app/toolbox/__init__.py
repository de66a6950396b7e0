"""The tool contract: every tool source loads through load_tools; every call runs through the guard."""

from agent_app.toolbox.guard import describe_error, guarded_call, prepare_tool, safe_tool_output
from agent_app.toolbox.loader import BUILTIN_NAMES, builtin_tools, load_tools
from agent_app.toolbox.registry import ToolInfo, Toolset, mark_needs_approval, needs_approval

__all__ = [
    "BUILTIN_NAMES",
    "ToolInfo",
    "Toolset",
    "builtin_tools",
    "describe_error",
    "guarded_call",
    "load_tools",
    "mark_needs_approval",
    "needs_approval",
    "prepare_tool",
    "safe_tool_output",
]
