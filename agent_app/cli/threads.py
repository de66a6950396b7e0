"""`agent-app threads`: list, rename, delete and export conversations."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent_app.cli.common import add_user_arg, fail, settings_from, user_of
from agent_app.errors import AppError


def register(sub: Any) -> None:
    """Add the `threads` command and its subcommands."""
    p = sub.add_parser("threads", help="list, rename, delete or export conversations")
    ops = p.add_subparsers(dest="op", required=True)
    ls = ops.add_parser("list", help="conversations, newest first")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--search", default="", help="filter by title")
    rn = ops.add_parser("rename", help="give a conversation a title")
    rn.add_argument("id")
    rn.add_argument("title")
    rm = ops.add_parser("delete", help="delete a conversation for good")
    rm.add_argument("id")
    ex = ops.add_parser("export", help="export as Markdown or JSON")
    ex.add_argument("id")
    ex.add_argument("--format", choices=["md", "json"], default="md")
    ex.add_argument("--output", "-o", help="file to write (default: stdout)")
    for parser in (ls, rn, rm, ex):
        add_user_arg(parser)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one `agent-app threads` subcommand."""
    from agent_app.wiring import open_service

    settings = settings_from(args)
    svc = open_service(settings, tools=[])
    user = user_of(args, settings)
    try:
        if args.op == "list":
            infos = svc.list_threads(user, args.search)
            if args.json:
                print(json.dumps([i.to_dict() for i in infos], ensure_ascii=False))
            for info in infos if not args.json else []:
                print(f"{info.id}  {info.title or '(untitled)'}")
        elif args.op == "rename":
            svc.rename_thread(user, args.id, args.title)
        elif args.op == "delete":
            svc.delete_thread(user, args.id)
        else:
            text = svc.export_thread(user, args.id, args.format)
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
        return 0
    except AppError as err:
        return fail(err, settings.lang)
    finally:
        svc.close()
