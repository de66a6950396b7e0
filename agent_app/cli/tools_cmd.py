"""`agent-app tools list [--json]` and `agent-app tools approve SERVER/TOOL...`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agent_app.settings import Settings, load_settings


def register(subparsers: Any) -> None:
    """Add the `tools` command and its subcommands."""
    parser = subparsers.add_parser("tools", help="list tools and approve MCP tool changes")
    sub = parser.add_subparsers(dest="tools_command", required=True)
    listing = sub.add_parser("list", help="every tool with its source and status")
    listing.add_argument("--json", action="store_true", help="one JSON array on stdout")
    listing.add_argument("--no-mcp", action="store_true", help="skip connecting to MCP servers")
    listing.set_defaults(func=run_list)
    approve = sub.add_parser("approve", help="approve the current description of MCP tools")
    approve.add_argument("names", nargs="+", metavar="SERVER/TOOL", help="or SERVER/* for all")
    approve.set_defaults(func=run_approve)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(data_dir=getattr(args, "data_dir", None))


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table: NAME, SOURCE, STATUS, APPROVAL, REASON."""
    header = ("NAME", "SOURCE", "STATUS", "APPROVAL", "REASON")
    lines = [
        (
            r["name"],
            r["source"],
            "enabled" if r["enabled"] else "disabled",
            "ask" if r["needs_approval"] else "-",
            r["reason"],
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(4)]
    out = []
    for row in [header, *lines]:
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row[:4])]
        out.append("  ".join([*cells, str(row[4])]).rstrip())
    return "\n".join(out)


def run_list(args: argparse.Namespace) -> int:
    """Print every tool row; exit 0 even when some are disabled (that is information)."""
    from agent_app.wiring import open_service

    svc = open_service(_settings(args), include_mcp=not args.no_mcp)
    try:
        rows = [info.to_json() for info in svc.tools()]
    finally:
        svc.close()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        print(format_table(rows))
    return 0


def run_approve(args: argparse.Namespace) -> int:
    """Pin the current fingerprint of the named MCP tools (after an admin reviewed them)."""
    from agent_app.toolbox import mcp_servers

    settings = _settings(args)
    path = mcp_servers.find_config(settings.data_dir)
    if path is None:
        print("no mcp.json found (data directory or working directory)", file=sys.stderr)
        return 2
    specs, _ = mcp_servers.read_config(path)
    done = mcp_servers.approve(settings.data_dir, args.names, specs)
    for key in done:
        print(f"approved {key}")
    missing = set(args.names) - set(done) - {n for n in args.names if n.endswith("/*")}
    for key in sorted(missing):
        print(f"not found: {key}", file=sys.stderr)
    return 0 if done and not missing else 1
