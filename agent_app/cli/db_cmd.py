"""`agent-app db`: create the PostgreSQL schema (`upgrade`), copy data to it or back (`migrate`, `export`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from agent_app.cli.common import fail, settings_from
from agent_app.errors import AppError


def register(sub: Any) -> None:
    """Add the `db` command and its subcommands."""
    p = sub.add_parser("db", help="PostgreSQL: create the schema, copy data to or from it")
    ops = p.add_subparsers(dest="op", required=True)
    up = ops.add_parser("upgrade", help="create or migrate every table (also done at start)")
    up.add_argument("--url", help="postgresql://… (default: AGENT_APP_DATABASE_URL)")
    mig = ops.add_parser("migrate", help="copy conversations, users, usage, memory and documents")
    mig.add_argument(
        "--from", dest="source", required=True, help="sqlite:///DATA_DIR or postgresql://…"
    )
    mig.add_argument("--to", dest="url", required=True, help="postgresql://… or sqlite:///DATA_DIR")
    exp = ops.add_parser("export", help="copy the database back to a SQLite data directory")
    exp.add_argument("--to", dest="dest", required=True, help="sqlite:///DATA_DIR")
    exp.add_argument("--url", help="postgresql://… (default: AGENT_APP_DATABASE_URL)")
    p.set_defaults(func=run)


def _ends(args: argparse.Namespace) -> tuple[str | None, str, str]:
    """(the PostgreSQL URL, source, destination) of the subcommand."""
    from agent_app.storage.backend import is_postgres

    if args.op == "migrate":
        url = args.url if is_postgres(args.url) else args.source
        return (url if is_postgres(url) else None), args.source, args.url
    return args.url, "", getattr(args, "dest", "")


def run(args: argparse.Namespace) -> int:
    """Run one `agent-app db` subcommand; prints a JSON summary on stdout."""
    from agent_app.db_migrate import migrate, upgrade
    from agent_app.storage.backend import target_for
    from agent_app.storage.pg import redact

    given, source, dest = _ends(args)
    settings = settings_from(args, database_url=given or None)
    if settings.database_url is None:
        return fail("set AGENT_APP_DATABASE_URL or pass --url postgresql://…", settings.lang)
    try:
        url = str(target_for(settings, ""))
        if args.op == "upgrade":
            print(json.dumps({"database": redact(url), "ready": upgrade(settings)}))
            return 0
        if args.op == "export":
            source = url
        counts = migrate(source, dest, settings)
    except AppError as err:
        return fail(err, settings.lang)
    ok = all(there >= rows for rows, there in counts.values())
    summary = {k: {"source": rows, "database": there} for k, (rows, there) in counts.items()}
    print(json.dumps({"database": redact(url), "ok": ok, "counts": summary}, ensure_ascii=False))
    return 0 if ok else 1
