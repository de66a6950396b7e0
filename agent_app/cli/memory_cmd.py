"""`agent-app memory`: list, search, add, confirm, delete, export and import long-term memories."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent_app.cli.common import add_user_arg, cli_lang, fail, settings_from, user_of
from agent_app.errors import AppError
from agent_app.i18n import t, tn

if TYPE_CHECKING:
    from agent_app.memory.service import MemoryService

FIELDS = (
    "id",
    "text",
    "score",
    "status",
    "source_thread",
    "source_message",
    "kind",
    "created_at",
    "updated_at",
)


def register(sub: Any) -> None:
    """Add the `memory` command and its subcommands."""
    p = sub.add_parser("memory", help="what the assistant remembers about a user")
    ops = p.add_subparsers(dest="op", required=True)
    ls = ops.add_parser("list", help="all memories, newest last")
    ls.add_argument("--json", action="store_true")
    se = ops.add_parser("search", help="memories closest to a query")
    se.add_argument("query")
    se.add_argument("--k", type=int, default=5)
    se.add_argument("--json", action="store_true")
    ad = ops.add_parser("add", help="remember a fact")
    ad.add_argument("text")
    ad.add_argument("--json", action="store_true")
    rm = ops.add_parser("delete", help="forget one memory")
    rm.add_argument("id")
    ok = ops.add_parser("confirm", help="confirm a suggested memory so the assistant uses it")
    ok.add_argument("id")
    ex = ops.add_parser("export", help="write all memories to a JSON file")
    ex.add_argument("file")
    im = ops.add_parser("import", help="read memories from a JSON file (a list of {text})")
    im.add_argument("file")
    fa = ops.add_parser("forget-all", help="forget everything about the user")
    fa.add_argument("--yes", action="store_true", help="do not ask")
    for parser in (ls, se, ad, rm, ok, ex, im, fa):
        add_user_arg(parser)
    p.set_defaults(func=run)


def _item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item.get(k) for k in FIELDS if k in item}


def _print(items: list[dict[str, Any]], as_json: bool, lang: str) -> None:
    if as_json:
        print(json.dumps([_item(i) for i in items], ensure_ascii=False))
        return
    for item in items:
        score = f" ({item['score']:.2f})" if isinstance(item.get("score"), float) else ""
        mark = t("cli.memory.suggested", lang) if item.get("status") == "suggested" else ""
        print(f"{item['id']}  {mark}{item['text']}{score}")


def _run_op(mem: MemoryService, user: str, args: argparse.Namespace, lang: str) -> int:
    if args.op == "list":
        _print(mem.list(user), args.json, lang)
    elif args.op == "search":
        _print(mem.search(user, args.query, args.k), args.json, lang)
    elif args.op == "add":
        item = mem.add(user, args.text, kind="manual")
        print(json.dumps(_item(item), ensure_ascii=False) if args.json else item["id"])
    elif args.op == "delete":
        mem.delete(user, args.id)
    elif args.op == "confirm":
        print(mem.confirm(user, args.id)["id"])
    elif args.op == "export":
        items = [_item(i) for i in mem.export(user)]
        Path(args.file).write_text(
            json.dumps(items, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        print(tn("cli.memory.written", len(items), lang))
    elif args.op == "import":
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
        print(tn("cli.memory.imported", mem.import_items(user, data), lang))
    elif args.op == "forget-all":
        if not args.yes and input(t("cli.memory.forget_all_confirm", lang)).strip().lower() != "y":
            return 1
        print(tn("cli.memory.forgotten", mem.forget_all(user), lang))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run one `agent-app memory` subcommand against the memory store."""
    from agent_app.memory.service import MemoryService
    from agent_app.wiring import open_memory_store

    settings = settings_from(args)
    store = open_memory_store(settings)
    lang = cli_lang(args, settings)
    try:
        return _run_op(MemoryService(store), user_of(args, settings), args, lang)
    except AppError as err:
        return fail(err, lang)
    except (OSError, ValueError) as exc:
        return fail(t("cli.file_error", lang, kind=type(exc).__name__), lang)
    finally:
        store.close()
