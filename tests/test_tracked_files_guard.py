"""The tracked-files guard: a test run that rewrites a file git tracks fails and names the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def _repo(tmp_path: Path, body: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "picture.png").write_bytes(b"old")
    (repo / "test_it.py").write_text(
        "from pathlib import Path\n\ndef test_it():\n" + body + "\n", encoding="utf-8"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    return repo


def _pytest(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AGENT_APP_CHECK_TRACKED": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.plugins.tracked_files",
            "test_it.py",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_run_that_rewrites_a_tracked_file_fails_and_names_it(tmp_path):
    repo = _repo(tmp_path, "    Path(__file__).with_name('picture.png').write_bytes(b'newer')")
    proc = _pytest(repo)
    assert proc.returncode == 1, proc.stdout
    assert "1 passed" in proc.stdout and "changed tracked files" in proc.stdout
    assert "picture.png" in proc.stdout


def test_a_run_that_writes_only_untracked_files_passes(tmp_path):
    repo = _repo(tmp_path, "    Path(__file__).with_name('scratch.png').write_bytes(b'x')")
    proc = _pytest(repo)
    assert proc.returncode == 0, proc.stdout
    assert "changed tracked files" not in proc.stdout
