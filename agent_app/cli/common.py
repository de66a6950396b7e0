"""Helpers shared by the CLI commands: settings from arguments, clear one-line errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agent_app.errors import AppError
from agent_app.i18n import LANGS, t
from agent_app.settings import Settings, load_settings


def add_user_arg(parser: argparse.ArgumentParser) -> None:
    """Add the `--user` and `--lang` options shared by the commands that act for a user."""
    parser.add_argument("--user", default=None, help="user id (default: the local user)")
    add_lang_arg(parser)


def add_lang_arg(parser: argparse.ArgumentParser) -> None:
    """Add `--lang` (also accepted before the command: `agent-app --lang en …`)."""
    parser.add_argument(
        "--lang",
        choices=list(LANGS),
        default=argparse.SUPPRESS,  # keeps a value given before the command
        help="language of the messages (default: your saved preference, else AGENT_APP_LANG)",
    )


def cli_lang(
    args: argparse.Namespace, settings: Settings, prefs: dict[str, Any] | None = None
) -> str:
    """The language of the messages: `--lang`, else the user's saved preference, else settings."""
    explicit = getattr(args, "lang", None)
    if explicit in LANGS:
        return str(explicit)
    if prefs is None:
        prefs = _saved_prefs(settings, user_of(args, settings))
    saved = prefs.get("lang")
    return str(saved) if saved in LANGS else settings.lang


def _saved_prefs(settings: Settings, user: str) -> dict[str, Any]:
    """The user's preferences as the UI saved them ({} before the first conversation or sign-in)."""
    from agent_app.storage.backend import target_for
    from agent_app.storage.threads import ThreadRegistry

    target = target_for(settings, "app.db")
    if isinstance(target, Path) and not target.exists():  # reading must not create a database
        return {}
    try:
        registry = ThreadRegistry(target)
    except Exception:  # an unreadable database: the command itself will say so
        return {}
    try:
        return registry.get_prefs(user)
    finally:
        registry.close()


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from env/.env with the command line's --data-dir and friends on top."""
    return load_settings(data_dir=getattr(args, "data_dir", None), **extra)


def user_of(args: argparse.Namespace, settings: Settings) -> str:
    """The user the command acts for: `--user`, else the configured local user."""
    return getattr(args, "user", None) or settings.user


def fail(err: AppError | str, lang: str = "en", code: int = 1) -> int:
    """Print one clear line to stderr (never a traceback) and return the exit code."""
    message = err.user_message(lang) if isinstance(err, AppError) else err
    print(t("cli.error", lang, message=message), file=sys.stderr)
    return code
