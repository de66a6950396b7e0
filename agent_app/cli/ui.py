"""`agent-app ui`: start the Streamlit front end."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# Inside the package, so an installed wheel (which has no streamlit_app.py) can start the UI too.
APP = Path(__file__).resolve().parents[1] / "ui" / "entry.py"


def register(sub: Any) -> None:
    """Add the `ui` command and its options."""
    p = sub.add_parser("ui", help="start the browser app (Streamlit)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1")
    p.set_defaults(func=run)


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
