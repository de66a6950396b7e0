"""Helpers shared by the CLI commands: settings from arguments, clear one-line errors."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent_app.errors import AppError
from agent_app.settings import Settings, load_settings


def add_user_arg(parser: argparse.ArgumentParser) -> None:
    """Add the `--user` option shared by the commands that act for a user."""
    parser.add_argument("--user", default=None, help="user id (default: the local user)")


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from env/.env with the command line's --data-dir and friends on top."""
    return load_settings(data_dir=getattr(args, "data_dir", None), **extra)


def user_of(args: argparse.Namespace, settings: Settings) -> str:
    """The user the command acts for: `--user`, else the configured local user."""
    return getattr(args, "user", None) or settings.user


def fail(err: AppError | str, lang: str = "en", code: int = 1) -> int:
    """Print one clear line to stderr (never a traceback) and return the exit code."""
    message = err.user_message(lang) if isinstance(err, AppError) else err
    print(f"error: {message}", file=sys.stderr)
    return code
