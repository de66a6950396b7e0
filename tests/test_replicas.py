"""Two app processes on one PostgreSQL database (separate data directories): each sees the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_inproc import run_main

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


def _app(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Replica 2: a process of its own."""
    env = {**os.environ, "AGENT_APP_DATABASE_URL": url, "AGENT_APP_PROVIDER": "offline"}
    done = subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _app_here(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Replica 1: the same commands through main() in the test's process (a process apart from
    replica 2 all the same, so what one sees of the other came through the database)."""
    env = {**os.environ, "AGENT_APP_DATABASE_URL": url, "AGENT_APP_PROVIDER": "offline"}
    done = run_main(["--data-dir", str(data_dir), *args], env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _events(done: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_a_conversation_and_a_memory_written_by_one_process_are_seen_by_the_other(pg_url, tmp_path):
    one, two = tmp_path / "replica-1", tmp_path / "replica-2"  # nothing shared on disk
    first = _events(
        _app_here(one, pg_url, "chat", "--json", "--user", "alice", "你好，我是第一个进程")
    )
    thread = first[0]["thread_id"]
    assert first[-1]["type"] == "done"

    listed = json.loads(_app(two, pg_url, "threads", "list", "--user", "alice", "--json").stdout)
    assert [t["id"] for t in listed] == [thread]

    second = _events(
        _app(
            two, pg_url, "chat", "--json", "--user", "alice", "--thread", thread, "第二个进程接着说"
        )
    )
    assert second[-1]["type"] == "done"
    exported = _app_here(
        one, pg_url, "threads", "export", thread, "--user", "alice", "--format", "json"
    ).stdout
    users = [m["text"] for m in json.loads(exported)["messages"] if m["role"] == "user"]
    assert users == ["你好，我是第一个进程", "第二个进程接着说"]  # in order, none lost

    _app_here(one, pg_url, "memory", "add", "--user", "alice", "我喜欢喝乌龙茶")
    found = json.loads(_app(two, pg_url, "memory", "list", "--user", "alice", "--json").stdout)
    assert [m["text"] for m in found] == ["我喜欢喝乌龙茶"]
