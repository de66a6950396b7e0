"""A pytest plugin that fails the run when tests changed a file git tracks (`make test` leaves the tree alone).

On under `make test` / `make e2e` (AGENT_APP_CHECK_TRACKED=1): there nobody edits the tree while the
suite runs, so a change is the tests'. In the edit-test loop it would flag the developer's own edits.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

_KEY = pytest.StashKey[tuple[str, dict[str, tuple[int, int]]]]()
_ROOT = pytest.StashKey[Path]()


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, check=True, timeout=30
    ).stdout


def _tracked(root: Path) -> dict[str, tuple[int, int]]:
    """Each tracked file's (mtime_ns, size); a missing file reads as (-1, -1)."""
    stamps = {}
    for name in filter(
        None, _git(root, "ls-files", "-z").decode("utf-8", "surrogateescape").split("\0")
    ):
        try:
            info = os.stat(root / name)
            stamps[name] = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamps[name] = (-1, -1)
    return stamps


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note every tracked file's state before the first test."""
    if os.environ.get("AGENT_APP_CHECK_TRACKED") != "1":
        return
    root = Path(session.config.rootpath)
    try:
        session.stash[_KEY] = (_git(root, "rev-parse", "HEAD").decode().strip(), _tracked(root))
        session.stash[_ROOT] = root
    except (OSError, subprocess.SubprocessError):  # not a git checkout (an sdist): nothing to guard
        pass


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run, naming the files, when a tracked file changed while the tests ran."""
    start = session.stash.get(_KEY, None)
    if start is None:
        return
    head, before = start
    root = session.stash[_ROOT]
    if _git(root, "rev-parse", "HEAD").decode().strip() != head:
        return  # a checkout or merge moved the tree during the run: its changes are not the tests'
    after = _tracked(root)
    changed = sorted(name for name in before if after.get(name) != before[name])
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "tests changed tracked files (write to a temp dir instead): " + ", ".join(changed),
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
