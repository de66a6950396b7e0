"""`agent-app ui`: start the Streamlit front end."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Inside the package, so an installed wheel (which has no streamlit_app.py) can start the UI too.
# Not in agent_app/ui/: Streamlit would turn the `pages/` folder beside the script into pages of
# its own (a visit to /knowledge then ran ui/pages/knowledge.py as a blank script).
APP = Path(__file__).resolve().parents[1] / "streamlit_entry.py"
# The same settings as the repository's .streamlit/config.toml (a test keeps the two equal):
# Streamlit reads config files only from ~ and the working directory, which a wheel does not ship.
PACKAGED_CONFIG = APP.parent / "ui" / "streamlit_config.toml"


def register(sub: Any) -> None:
    """Add the `ui` command and its options."""
    p = sub.add_parser("ui", help="start the browser app (Streamlit)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1")
    p.set_defaults(func=run)


def _options(text: str) -> dict[str, Any]:
    """{"section.key": value} from a Streamlit config.toml."""
    data = tomllib.loads(text)
    return {
        f"{section}.{key}": value
        for section, table in data.items()
        if isinstance(table, dict)
        for key, value in table.items()
    }


def _env_var(option: str) -> str:
    """Streamlit's environment variable for an option (server.maxUploadSize → STREAMLIT_SERVER_MAX_UPLOAD_SIZE)."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", option.replace(".", "_"))
    return f"STREAMLIT_{snake.upper()}"


def _flag_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def packaged_flags(env: Mapping[str, str], cwd: Path, home: Path) -> list[str]:
    """The packaged settings as `--section.key value` flags, except those the operator set.

    An option set in ~/.streamlit/config.toml, ./.streamlit/config.toml or a STREAMLIT_*
    variable is left to Streamlit, so flags never override the operator's own choice.
    """
    operator: set[str] = set()
    for path in (home / ".streamlit" / "config.toml", cwd / ".streamlit" / "config.toml"):
        try:
            operator |= set(_options(path.read_text(encoding="utf-8")))
        except (OSError, tomllib.TOMLDecodeError):
            continue
    flags: list[str] = []
    for option, value in _options(PACKAGED_CONFIG.read_text(encoding="utf-8")).items():
        if option in operator or _env_var(option) in env:
            continue
        flags += [f"--{option}", _flag_value(value)]
    return flags


def run(args: argparse.Namespace) -> int:
    """Start Streamlit on the packaged app script; returns its exit code."""
    from agent_app.auth.exposure import open_exposure, refusal_message
    from agent_app.cli.common import settings_from

    if open_exposure(settings_from(args), args.address) == "refuse":
        print(refusal_message(args.address), file=sys.stderr)
        return 2
    env = dict(os.environ)
    if args.data_dir:
        env["AGENT_APP_DATA_DIR"] = args.data_dir
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        *packaged_flags(env, Path.cwd(), Path.home()),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
    ]
    if (
        os.name == "posix"
    ):  # become Streamlit: a container's SIGTERM (PID 1) then reaches the server
        sys.stdout.flush()
        os.execve(sys.executable, cmd, env)
    return subprocess.call(cmd, env=env)
