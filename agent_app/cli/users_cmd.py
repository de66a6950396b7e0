"""`agent-app users`: local accounts (add, list, disable, enable, admin, reset-password) and budgets."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from agent_app.cli.common import cli_lang, fail, settings_from
from agent_app.errors import AppError
from agent_app.i18n import t


def register(sub: Any) -> None:
    """Add the `users` command and its subcommands."""
    p = sub.add_parser("users", help="sign-in accounts and per-user budgets")
    ops = p.add_subparsers(dest="op", required=True)
    add = ops.add_parser("add", help="create an account (password from stdin or a prompt)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may open the Admin page")
    ls = ops.add_parser("list", help="every account")
    ls.add_argument("--json", action="store_true")
    for op, text in (
        ("disable", "end the account's sessions and refuse sign-in"),
        ("enable", "allow sign-in again"),
        ("reset-password", "set a new password (stdin or prompt); ends sessions"),
    ):
        ops.add_parser(op, help=text).add_argument("name")
    adm = ops.add_parser("admin", help="grant (or --revoke) the admin role")
    adm.add_argument("name")
    adm.add_argument("--revoke", action="store_true")
    bud = ops.add_parser("budget", help="override a user's limits (empty value: back to default)")
    bud.add_argument("name")
    bud.add_argument("--tokens", help="tokens per day (0: unlimited)")
    bud.add_argument("--rpm", help="turns per minute (0: unlimited)")
    use = ops.add_parser("usage", help="tokens and turns per user per day")
    use.add_argument("--days", type=int, default=30)
    use.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def read_password(confirm: bool = True) -> str:
    """The new password: one line of stdin when piped, else typed twice at a hidden prompt."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if confirm and getpass.getpass("again: ") != first:
        raise AppError("mismatch", key="auth.error.mismatch")
    return first


def run(args: argparse.Namespace) -> int:
    """Run one `agent-app users` subcommand."""
    from agent_app.auth import open_accounts
    from agent_app.budget import open_ledger

    settings = settings_from(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    accounts, ledger = open_accounts(settings), open_ledger(settings)
    lang = cli_lang(args, settings)
    try:
        return _dispatch(args, accounts, ledger, lang)
    except AppError as err:
        return fail(err, lang)
    finally:
        accounts.close()
        ledger.close()


def _dispatch(args: argparse.Namespace, accounts: Any, ledger: Any, lang: str) -> int:
    if args.op == "add":
        user = accounts.add_user(args.name, read_password(), is_admin=args.admin)
        print(
            t("cli.users.added_admin" if user.is_admin else "cli.users.added", lang, name=user.name)
        )
    elif args.op == "list":
        _print_users(accounts, ledger, args.json, lang)
    elif args.op in ("disable", "enable"):
        user = accounts.set_disabled(args.name, args.op == "disable")
        print(
            t("cli.users.disabled" if user.disabled else "cli.users.enabled", lang, name=user.name)
        )
    elif args.op == "admin":
        user = accounts.set_admin(args.name, not args.revoke)
        print(
            t("cli.users.admin" if user.is_admin else "cli.users.not_admin", lang, name=user.name)
        )
    elif args.op == "reset-password":
        user = accounts.reset_password(args.name, read_password())
        print(t("cli.users.reset", lang, name=user.name))
    elif args.op == "budget":
        _set_budget(args, accounts, ledger, lang)
    else:
        rows = ledger.usage(days=args.days)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        for r in rows if not args.json else []:
            tokens = r["input_tokens"] + r["output_tokens"]
            print(
                t(
                    "cli.users.usage_row",
                    lang,
                    day=r["day"],
                    user=r["user_id"],
                    tokens=tokens,
                    turns=r["requests"],
                )
            )
    return 0


def _print_users(accounts: Any, ledger: Any, as_json: bool, lang: str) -> None:
    rows = []
    for user in accounts.list_users():
        limits = ledger.limits_for(user.user_id)
        rows.append(
            {
                **user.to_dict(),
                "daily_tokens": limits.daily_tokens,
                "rpm": limits.rpm,
                "tokens_today": ledger.tokens_today(user.user_id),
            }
        )
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        flags = ",".join(
            f for f, on in (("admin", r["is_admin"]), ("disabled", r["disabled"])) if on
        )
        print(
            t(
                "cli.users.row",
                lang,
                name=r["name"],
                mode=r["mode"],
                flags=flags or "-",
                tokens=r["tokens_today"],
            )
        )


def _limit(value: str | None, current: int | None) -> int | None:
    if value is None:
        return current
    if value.strip() == "":
        return None
    if not value.strip().isdigit():
        raise AppError(value, key="auth.error.bad_limit")
    return int(value)


def _set_budget(args: argparse.Namespace, accounts: Any, ledger: Any, lang: str) -> None:
    user = accounts.get(args.name)
    current = ledger.overrides().get(user.user_id, (None, None))
    limits = ledger.set_limits(
        user.user_id, _limit(args.tokens, current[0]), _limit(args.rpm, current[1])
    )
    unlimited = t("cli.users.unlimited", lang)
    tokens, rpm = limits.daily_tokens or unlimited, limits.rpm or unlimited
    print(t("cli.users.budget", lang, name=user.name, tokens=tokens, rpm=rpm))
