"""Entry point of `agent-app`: parses arguments and dispatches to one command module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from agent_app import __version__
from agent_app.cli.common import fail
from agent_app.errors import AppError

# Each command module exposes register(subparsers) and sets `func` on its parser.
COMMAND_MODULES = (
    "chat",
    "doctor",
    "threads",
    "kb",
    "memory_cmd",
    "tools_cmd",
    "ui",
    "users_cmd",
    "db_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command module's subcommand registered."""
    parser = argparse.ArgumentParser(prog="agent-app", description="Qwen-first agent chat.")
    parser.add_argument(
        "--data-dir", help="data directory (default: $AGENT_APP_DATA_DIR or ./data)"
    )
    parser.add_argument(
        "--lang",
        choices=["zh", "en"],
        default=None,
        help="language of the messages (default: your saved preference, else AGENT_APP_LANG)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"agent_app.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"agent_app.cli.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `agent-app` with these arguments; returns the exit code."""
    from agent_app.logsetup import configure_logging

    configure_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except AppError as err:  # e.g. the database refused us at start: one clear line
        return fail(err, os.environ.get("AGENT_APP_LANG", "en"))
    except BrokenPipeError:  # `agent-app … | head`: the reader left; end quietly, as SIGPIPE would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
