"""`agent-app users` as an operator runs it: separate processes, passwords never on argv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_app.auth import open_accounts
from agent_app.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def users(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_APP_")}
    env["AGENT_APP_LANG"] = "en"
    return subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), "users", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        input=stdin,
        timeout=60,
    )


def test_add_list_disable_reset_budget(data_dir):
    assert users(data_dir, "add", "Alice", "--admin", stdin="s3cret-pass\n").returncode == 0
    assert users(data_dir, "add", "bob", stdin="another-pass\n").returncode == 0
    listed = json.loads(users(data_dir, "list", "--json").stdout)
    assert [(u["name"], u["is_admin"], u["disabled"]) for u in listed] == [
        ("alice", True, False),
        ("bob", False, False),
    ]
    assert all("hash" not in key for u in listed for key in u)
    assert users(data_dir, "disable", "bob").returncode == 0
    assert users(data_dir, "reset-password", "alice", stdin="fresh-pass-1\n").returncode == 0
    assert users(data_dir, "budget", "bob", "--tokens", "500", "--rpm", "3").returncode == 0
    listed = {u["name"]: u for u in json.loads(users(data_dir, "list", "--json").stdout)}
    assert listed["bob"]["disabled"] and (listed["bob"]["daily_tokens"], listed["bob"]["rpm"]) == (
        500,
        3,
    )
    store = open_accounts(Settings(data_dir=data_dir, auth="password"))
    try:
        assert store.authenticate("alice", "fresh-pass-1").status == "ok"
        assert store.authenticate("alice", "s3cret-pass").status == "invalid"
        assert store.authenticate("bob", "another-pass").status == "invalid"
    finally:
        store.close()


def test_password_is_not_an_argument_and_errors_are_one_line(data_dir):
    extra = users(data_dir, "add", "carol", "hunter2hunter2")
    assert extra.returncode == 2 and "unrecognized arguments" in extra.stderr  # argparse refuses it
    weak = users(data_dir, "add", "carol", stdin="short\n")
    assert weak.returncode == 1 and weak.stderr.strip().startswith("error:") and "8" in weak.stderr
    missing = users(data_dir, "disable", "nobody")
    assert (
        missing.returncode == 1 and "Traceback" not in missing.stderr and "nobody" in missing.stderr
    )
    twice = (
        users(data_dir, "add", "dave", stdin="long-enough\n"),
        users(data_dir, "add", "DAVE", stdin="long-enough\n"),
    )
    assert twice[0].returncode == 0 and twice[1].returncode == 1 and "exists" in twice[1].stderr
