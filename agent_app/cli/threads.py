"""`agent-app threads`: list, rename, delete and export conversations (an id prefix is enough)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from agent_app.cli.common import add_user_arg, cli_lang, fail, settings_from, user_of
from agent_app.errors import AppError
from agent_app.i18n import t


def register(sub: Any) -> None:
    """Add the `threads` command and its subcommands."""
    p = sub.add_parser("threads", help="list, rename, delete or export conversations")
    ops = p.add_subparsers(dest="op", required=True)
    ls = ops.add_parser("list", help="conversations, newest first")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--search", default="", help="filter by title")
    rn = ops.add_parser("rename", help="give a conversation a title")
    rn.add_argument("id", help="conversation id or an unambiguous prefix of it")
    rn.add_argument("title")
    rm = ops.add_parser("delete", help="delete a conversation for good")
    rm.add_argument("id", help="conversation id or an unambiguous prefix of it")
    ex = ops.add_parser("export", help="export as Markdown or JSON")
    ex.add_argument("id", help="conversation id or an unambiguous prefix of it")
    ex.add_argument("--format", choices=["md", "json"], default="md")
    ex.add_argument("--output", "-o", help="file to write (default: stdout)")
    for parser in (ls, rn, rm, ex):
        add_user_arg(parser)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one `agent-app threads` subcommand."""
    from agent_app.conversations import open_conversations

    settings = settings_from(args)
    user = user_of(args, settings)
    try:
        convs = open_conversations(settings)
    except AppError as err:
        return fail(err, cli_lang(args, settings, {}))
    lang = cli_lang(args, settings, convs.get_prefs(user))
    try:
        if args.op == "list":
            _list(convs.list_threads(user, args.search), args.json, lang)
            return 0
        info = convs.find_thread(user, args.id)
        if args.op == "rename":
            convs.rename_thread(user, info.id, args.title)
            print(t("cli.threads.renamed", lang, id=info.id[:8], title=args.title))
        else:
            _with_service(convs, user, info.id, args, lang)
        return 0
    except AppError as err:
        return fail(err, lang)
    finally:
        convs.close()


def _list(infos: list[Any], as_json: bool, lang: str) -> None:
    if as_json:
        print(json.dumps([i.to_dict() for i in infos], ensure_ascii=False))
        return
    for info in infos:
        print(f"{info.id}  {info.title or t('cli.threads.untitled', lang)}")


def _with_service(
    convs: Any, user: str, thread_id: str, args: argparse.Namespace, lang: str
) -> None:
    """Delete or export: these read or drop the stored messages, so the checkpoints are opened."""
    from agent_app.wiring import open_service

    svc = open_service(convs.settings, tools=[], conversations=convs)
    try:
        if args.op == "delete":
            svc.delete_thread(user, thread_id)
            print(t("cli.threads.deleted", lang, id=thread_id[:8]))
            return
        text = svc.export_thread(user, thread_id, args.format)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(t("cli.threads.exported", lang, id=thread_id[:8], path=args.output))
        else:
            sys.stdout.write(text)
    finally:
        svc.close()
