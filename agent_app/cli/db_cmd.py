"""`agent-app db`: create the PostgreSQL schema (`upgrade`) or copy a SQLite data directory (`migrate`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from agent_app.cli.common import fail, settings_from
from agent_app.errors import AppError


def register(sub: Any) -> None:
    """Add the `db` command and its subcommands."""
    p = sub.add_parser("db", help="PostgreSQL: create the schema, copy a SQLite data directory")
    ops = p.add_subparsers(dest="op", required=True)
    up = ops.add_parser("upgrade", help="create or migrate every table (also done at start)")
    up.add_argument("--url", help="postgresql://… (default: AGENT_APP_DATABASE_URL)")
    mig = ops.add_parser("migrate", help="copy conversations, users, usage and memory, counted")
    mig.add_argument("--from", dest="source", required=True, help="sqlite:///DATA_DIR")
    mig.add_argument("--to", dest="url", required=True, help="postgresql://…")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one `agent-app db` subcommand; prints a JSON summary on stdout."""
    from agent_app.db_migrate import migrate, upgrade
    from agent_app.storage.backend import target_for
    from agent_app.storage.pg import redact

    settings = settings_from(args, database_url=args.url or None)
    if settings.database_url is None:
        return fail("set AGENT_APP_DATABASE_URL or pass --url postgresql://…", settings.lang)
    try:
        url = str(target_for(settings, ""))
        if args.op == "upgrade":
            print(json.dumps({"database": redact(url), "ready": upgrade(settings)}))
            return 0
        counts = migrate(args.source, url, settings)
    except AppError as err:
        return fail(err, settings.lang)
    ok = all(there >= rows for rows, there in counts.values())
    summary = {k: {"source": rows, "database": there} for k, (rows, there) in counts.items()}
    print(json.dumps({"database": redact(url), "ok": ok, "counts": summary}, ensure_ascii=False))
    return 0 if ok else 1
