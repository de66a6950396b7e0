"""`agent-app` run in the test's own process: main(argv) with a process's environment, stdin and streams.

For tests whose subject is what a command does to the data (the service behind the CLI), not the
process contract: those (exit codes, stdout/stderr, JSON lines) keep at least one real subprocess
test each. Same argv, same environment (replaced whole for the call), same working directory,
stdin fed from a string; stdout and stderr captured as text, each with a `.buffer` like a real
stream. An exception that main() lets out propagates, so a test fails where a subprocess would
have printed a traceback.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class _Stream(io.TextIOWrapper):
    """A text stream over bytes, as a process's stdout/stderr (kb writes to `.buffer`)."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", write_through=True)

    def text(self) -> str:
        self.flush()
        raw = self.buffer
        assert isinstance(raw, io.BytesIO)
        text = raw.getvalue().decode("utf-8", errors="replace")
        return text.replace("\r\n", "\n").replace("\r", "\n")  # as subprocess's text mode reads it


@contextlib.contextmanager
def _process_like(env: Mapping[str, str], cwd: Path) -> Iterator[None]:
    """The environment replaced whole, the cwd changed and root logging fresh, all put back after."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    root.handlers = []  # main() configures logging to this call's stderr, as in a new process
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = saved_handlers, saved_level
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_main(
    argv: list[str],
    *,
    env: Mapping[str, str],
    stdin: str | None = None,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """`agent-app *argv` in this process; the result reads like subprocess.run's."""
    from agent_app.cli.main import main

    out, err = _Stream(), _Stream()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = io.StringIO(stdin or "")
    sys.stdout, sys.stderr = out, err
    try:
        with _process_like(env, cwd):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse's usage errors and --version
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return subprocess.CompletedProcess(
        ["agent-app", *argv], code, stdout=out.text(), stderr=err.text()
    )
