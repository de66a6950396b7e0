"""The tool registry: naming policy, duplicate rejection and the Toolset/ToolInfo the app consumes."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

from langchain_core.tools import BaseTool

logger = logging.getLogger(__name__)
# What model APIs accept as a function name (OpenAI/DashScope: 64 chars of [A-Za-z0-9_-]).
TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,63}$")
Kind = Literal["builtin", "module", "entry_point", "mcp"]
JSON_FIELDS = ("name", "source", "enabled", "reason", "needs_approval")


def needs_approval(tool: BaseTool) -> bool:
    """True when the tool declared `metadata={"needs_approval": True}` (or NEEDS_APPROVAL)."""
    return bool((tool.metadata or {}).get("needs_approval"))


def mark_needs_approval(tool: BaseTool, value: bool = True) -> BaseTool:
    """Set the approval flag in the tool's metadata (in place) and return the tool."""
    tool.metadata = {**(tool.metadata or {}), "needs_approval": bool(value)}
    return tool


@dataclass(frozen=True)
class ToolInfo:
    """One row of `agent-app tools list`: a tool, or a module/server that failed to load."""

    name: str
    source: str
    """'builtin', a module path such as 'tools/unit_convert.py', 'entry point dist:name', 'mcp:server'."""
    enabled: bool
    reason: str = ""
    """Why it is disabled (one redacted line); empty when enabled."""
    needs_approval: bool = False
    description: str = ""
    kind: Kind = "builtin"

    def to_json(self) -> dict[str, object]:
        """The stable JSON contract: {name, source, enabled, reason, needs_approval}."""
        data = asdict(self)
        return {key: data[key] for key in JSON_FIELDS}


@dataclass
class Toolset:
    """The result of load_tools: enabled tools for the agent, and every row for display."""

    tools: list[BaseTool]
    infos: list[ToolInfo]
    timings_ms: dict[str, float] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)
    """What the tools hold open (MCP sessions), ended by `close()`."""
    refreshers: list[Callable[[], None]] = field(default_factory=list)
    """What lists sources again when their listing is due (MCP servers that announce nothing)."""

    def current(self) -> list[BaseTool]:
        """The enabled tools now: sources whose listing is due are listed again first."""
        for refresh in self.refreshers:
            refresh()
        return self.tools

    def replace_source(
        self,
        source: str,
        kind: Kind,
        tools: Iterable[BaseTool],
        held: Iterable[tuple[BaseTool, str]] = (),
    ) -> None:
        """One source's tools and rows, as it lists them now (an MCP server's list changed).

        Other sources keep their names; `held` are tools listed but not allowed to run (why).
        The lists are swapped whole, so a reader on another thread sees the old or the new.
        """
        others = [info for info in self.infos if info.source != source]
        mine = {info.name for info in self.infos if info.source == source and info.enabled}
        fresh = Registry()
        fresh._owners = {info.name: info.source for info in others if info.enabled}
        fresh.add_all(tools, source, kind)
        for tool, reason in held:
            fresh.disable(tool, source, reason, kind)
        listed = fresh.toolset()
        self.tools = [t for t in self.tools if t.name not in mine] + listed.tools
        self.infos = others + listed.infos

    def close(self) -> None:
        """End what the tools hold open; they fail cleanly if called afterwards."""
        for closer in self.closers:
            closer()

    def get(self, name: str) -> BaseTool | None:
        """The enabled tool called `name`, or None."""
        return next((tool for tool in self.tools if tool.name == name), None)

    def info(self, name: str) -> ToolInfo | None:
        """The first row for `name` (the enabled one when there is one)."""
        rows = [row for row in self.infos if row.name == name]
        return next((row for row in rows if row.enabled), rows[0] if rows else None)

    @property
    def names(self) -> list[str]:
        """The names of the enabled tools."""
        return [tool.name for tool in self.tools]


class Registry:
    """Collects tools in load order; the first holder of a name wins, later ones are disabled."""

    def __init__(self) -> None:
        self._tools: list[BaseTool] = []
        self._infos: list[ToolInfo] = []
        self._owners: dict[str, str] = {}

    def add(self, tool: BaseTool, source: str, kind: Kind) -> bool:
        """Register `tool`; returns False (and records why) when it is rejected."""
        name, description = str(tool.name), str(tool.description or "")[:500]
        reason = ""
        if not TOOL_NAME.match(name):
            reason = "invalid tool name (letters, digits, '_' or '-', at most 64)"
        elif name in self._owners:
            reason = f"duplicate name: already provided by {self._owners[name]}"
        if reason:
            logger.warning("tool %r from %s disabled: %s", name[:64], source, reason)
        else:
            self._owners[name] = source
            self._tools.append(tool)
        self._infos.append(
            ToolInfo(
                name=name[:64],
                source=source,
                enabled=not reason,
                reason=reason,
                needs_approval=needs_approval(tool),
                description=description,
                kind=kind,
            )
        )
        return not reason

    def add_all(self, tools: Iterable[BaseTool], source: str, kind: Kind) -> None:
        """Register tools from one source."""
        for tool in tools:
            self.add(tool, source, kind)

    def fail(self, name: str, source: str, reason: str, kind: Kind) -> None:
        """Record a module, entry point or server that produced no tools."""
        logger.warning("tool source %s disabled: %s", source, reason)
        self._infos.append(
            ToolInfo(name=name, source=source, enabled=False, reason=reason, kind=kind)
        )

    def disable(self, tool: BaseTool, source: str, reason: str, kind: Kind) -> None:
        """Record a tool that loaded but is not allowed to run (e.g. an unapproved MCP change)."""
        logger.warning("tool %r from %s disabled: %s", tool.name, source, reason)
        self._infos.append(
            ToolInfo(
                name=tool.name,
                source=source,
                enabled=False,
                reason=reason,
                needs_approval=needs_approval(tool),
                description=str(tool.description or "")[:500],
                kind=kind,
            )
        )

    def toolset(self, timings_ms: dict[str, float] | None = None) -> Toolset:
        """Everything registered so far, with load timings."""
        return Toolset(
            tools=list(self._tools), infos=list(self._infos), timings_ms=timings_ms or {}
        )
