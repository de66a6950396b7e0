"""MCP servers from mcp.json: connect with timeouts, pin each tool's description and schema by hash."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from langchain_core.tools import BaseTool

from agent_app.toolbox.guard import describe_error
from agent_app.toolbox.mcp_sessions import McpSessions
from agent_app.toolbox.registry import mark_needs_approval

logger = logging.getLogger(__name__)
CONFIG_NAME = "mcp.json"
PINS_NAME = "mcp_pins.json"
SERVER_NAME = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
# Phrases that have no business in a tool description: they address the model, not describe a tool.
SUSPICIOUS = re.compile(
    r"(?i)(~/\.ssh|id_rsa|\.env\b|/etc/passwd|ignore (all |any )?(previous|prior|above) "
    r"instructions|<important>|do not (tell|mention|inform)|system prompt|exfiltrat|api[_ ]?key|"
    r"password|secret)"
)
HTTP_TRANSPORTS = {"streamable_http", "streamable-http", "http"}
T = TypeVar("T")


@dataclass(frozen=True)
class ServerSpec:
    """One server entry of mcp.json, validated; `connection` is what the MCP client receives."""

    name: str
    connection: dict[str, Any]
    needs_approval: bool | None = None
    """True/False forces it for every tool; None: approval unless the tool is annotated read-only."""
    connect_timeout: float = 10.0
    call_timeout: float = 30.0


def find_config(data_dir: Path, explicit: Path | None = None) -> Path | None:
    """mcp.json in the data directory, else in the working (project) directory."""
    candidates = (
        [explicit] if explicit else [Path(data_dir) / CONFIG_NAME, Path.cwd() / CONFIG_NAME]
    )
    return next((path for path in candidates if path and path.is_file()), None)


def _connection(entry: dict[str, Any]) -> dict[str, Any]:
    if "command" in entry:
        args = entry.get("args", [])
        env = entry.get("env")
        if not isinstance(entry["command"], str) or not all(isinstance(a, str) for a in args):
            raise ValueError("command must be a string and args a list of strings")
        if env is not None and not all(isinstance(v, str) for v in dict(env).values()):
            raise ValueError("env values must be strings")
        conn: dict[str, Any] = {
            "transport": "stdio",
            "command": entry["command"],
            "args": list(args),
        }
        if env is not None:
            conn["env"] = dict(env)
        if isinstance(entry.get("cwd"), str):
            conn["cwd"] = entry["cwd"]
        return conn
    transport = entry.get("transport", "streamable_http")
    if isinstance(entry.get("url"), str) and transport in HTTP_TRANSPORTS:
        conn = {"transport": "streamable_http", "url": entry["url"]}
        if isinstance(entry.get("headers"), dict):
            conn["headers"] = {str(k): str(v) for k, v in entry["headers"].items()}
        return conn
    raise ValueError("needs either command/args (stdio) or url with transport streamable_http")


def read_config(path: Path) -> tuple[list[ServerSpec], list[tuple[str, str]]]:
    """Parse mcp.json ({"mcpServers": {...}}); returns specs and (server, reason) refusals."""
    try:
        servers = json.loads(path.read_text(encoding="utf-8")).get("mcpServers", {})
        if not isinstance(servers, dict):
            raise ValueError("mcpServers must be an object")
    except (OSError, ValueError, AttributeError) as exc:
        return [], [("mcp.json", f"cannot read mcp.json: {describe_error(exc)}")]
    specs, refused = [], []
    for name in sorted(servers):
        entry = servers[name]
        if not SERVER_NAME.match(str(name)) or not isinstance(entry, dict):
            refused.append((str(name)[:64], "invalid server name or entry"))
            continue
        if entry.get("disabled"):
            refused.append((name, "disabled in mcp.json"))
            continue
        try:
            approval = entry.get("needs_approval")
            specs.append(
                ServerSpec(
                    name=name,
                    connection=_connection(entry),
                    needs_approval=None if approval is None else bool(approval),
                    connect_timeout=float(entry.get("connect_timeout", 10.0)),
                    call_timeout=float(entry.get("timeout", 30.0)),
                )
            )
        except (ValueError, TypeError) as exc:
            refused.append((name, f"invalid entry: {describe_error(exc)}"))
    return specs, refused


def _root_cause(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _reason(spec: ServerSpec, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"MCP server did not answer within {spec.connect_timeout:g} s"
    return f"MCP server unavailable: {describe_error(_root_cause(exc))}"


def load_servers(
    specs: list[ServerSpec], sessions: McpSessions
) -> list[tuple[ServerSpec, list[BaseTool] | str]]:
    """Connect to every server concurrently (sessions stay open); tools or a one-line reason."""
    if not specs:
        return []
    results = sessions.open_all([(s.name, s.connection, s.connect_timeout) for s in specs])
    return [
        (spec, _reason(spec, r) if isinstance(r, BaseException) else r)
        for spec, r in zip(specs, results, strict=True)
    ]


def fingerprint(tool: BaseTool) -> str:
    """sha256 of what the model sees: name, description and input schema."""
    schema = tool.args_schema if isinstance(tool.args_schema, dict) else tool.args
    blob = json.dumps(
        {"name": tool.name, "description": tool.description, "schema": schema},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class PinStore:
    """Approved fingerprints, one JSON file in the data directory (written atomically)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / PINS_NAME
        self.pins: dict[str, dict[str, str]] = {}
        self._read_at: float | None = None
        self.dirty = False
        self.reload()

    def reload(self) -> None:
        """Read the file again if it changed (`agent-app tools approve` ran in another process)."""
        try:
            changed = self.path.stat().st_mtime_ns
        except OSError:
            return
        if changed == self._read_at or self.dirty:
            return
        try:
            self.pins = json.loads(self.path.read_text("utf-8"))["tools"]
        except (OSError, ValueError, KeyError, TypeError):
            self.pins = {}
        self._read_at = changed

    def approve(self, key: str, digest: str) -> None:
        """Trust a tool's current description and schema."""
        self.pins[key] = {"sha256": digest, "approved_at": datetime.now(UTC).isoformat()}
        self.dirty = True

    def save(self) -> None:
        """Write the pins atomically, if they changed."""
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".mcp_pins.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "tools": self.pins}, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self.dirty = False
        self._read_at = self.path.stat().st_mtime_ns


def check_pin(store: PinStore, server: str, tool: BaseTool) -> str:
    """'' when the tool may run; otherwise why it is held back for an admin's approval."""
    store.reload()
    key, digest = f"{server}/{tool.name}", fingerprint(tool)
    pinned = store.pins.get(key, {}).get("sha256")
    hint = f"review it, then run `agent-app tools approve {key}`"
    if pinned == digest:
        return ""
    if pinned:
        return f"description or schema changed since it was approved; {hint}"
    match = SUSPICIOUS.search(f"{tool.description}\n{json.dumps(tool.args, default=str)}")
    if match:
        return f"description contains {match.group(0)[:40]!r}, which addresses the model; {hint}"
    store.approve(key, digest)  # first sight: trust on first use, pinned from now on
    return ""


def apply_approval_policy(tool: BaseTool, spec: ServerSpec) -> BaseTool:
    """Server setting wins; otherwise only tools annotated readOnlyHint run without asking."""
    read_only = bool((tool.metadata or {}).get("readOnlyHint"))
    wanted = spec.needs_approval if spec.needs_approval is not None else not read_only
    # A server's output is text nobody vouches for; a tool not annotated read-only may change things.
    tool.metadata = {
        **(tool.metadata or {}),
        "untrusted_output": True,
        "side_effects": not read_only,
    }
    return mark_needs_approval(tool, wanted)


def approve(data_dir: Path, keys: Iterable[str], specs: list[ServerSpec]) -> list[str]:
    """Pin the current fingerprint of tools named 'server/tool' (or 'server/*'); returns keys done."""
    wanted = set(keys)
    store, done, sessions = PinStore(data_dir), [], McpSessions()
    try:
        listed = load_servers(specs, sessions)
    finally:
        sessions.close()
    for spec, result in listed:
        if isinstance(result, str):
            continue
        for tool in result:
            key = f"{spec.name}/{tool.name}"
            if key in wanted or f"{spec.name}/*" in wanted:
                store.approve(key, fingerprint(tool))
                done.append(key)
    store.save()
    return done
