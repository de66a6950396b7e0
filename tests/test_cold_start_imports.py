"""An offline `agent-app chat --json` turn leaves unimported what only other paths need (start-up time)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

# Runs the real CLI entry point in a fresh interpreter, then reports which modules got loaded.
PROBE = """
import json, sys
from agent_app.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
# Only the web reader's fetch needs httpcore and h11 (DashScope's client loads them itself when it
# is used); jieba only recall over stored memories and the knowledge base's search.
NOT_NEEDED = ("httpcore", "h11", "jieba")


def test_offline_chat_turn_on_a_fresh_data_dir_leaves_heavy_unused_modules_unimported(tmp_path):
    env = {**os.environ, "AGENT_APP_PROVIDER": "offline"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, "--data-dir", str(tmp_path / "data"), "chat", "--json", "hi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    *events, report = out.stdout.splitlines()
    assert json.loads(events[-1])["type"] == "done"
    loaded = set(json.loads(report)["modules"])
    assert "agent_app.toolbox.webreader" in loaded  # the tool itself is there
    assert not [name for name in NOT_NEEDED if name in loaded]


def test_recall_over_stored_memories_still_segments_with_jieba(tmp_path):
    from agent_app.memory.service import MemoryService
    from agent_app.settings import Settings
    from agent_app.wiring import open_memory_store

    settings = Settings(data_dir=tmp_path / "data", provider="offline", _env_file=None)
    store = open_memory_store(settings)
    try:
        MemoryService(store).add("u1", "我对花生过敏")
    finally:
        store.close()
    reopened = open_memory_store(settings)
    try:
        found = MemoryService(reopened).search("u1", "我对什么过敏？")
    finally:
        reopened.close()
    assert [item["text"] for item in found] == ["我对花生过敏"]


def test_a_chat_turn_with_a_dashscope_key_leaves_the_embedding_sdk_unimported(tmp_path):
    from tests.fakes import FakeDashScope

    # The key makes text-embedding-v4 the memory and KB embedder; a first turn embeds nothing
    # (no memories yet), so langchain-community and the dashscope SDK must stay unloaded.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))}
    with FakeDashScope() as fake:
        env.update(
            DASHSCOPE_API_KEY="sk-test-0123456789",
            DASHSCOPE_API_BASE=fake.base_url,
            AGENT_APP_TOOLS_DIRS="",
            AGENT_APP_MEMORY_EXTRACT="false",
        )
        data = tmp_path / "data"
        out = subprocess.run(
            [sys.executable, "-c", PROBE, "--data-dir", str(data), "chat", "--json", "你好"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 0, out.stderr[-2000:]
    *events, report = out.stdout.splitlines()
    assert json.loads(events[-1])["type"] == "done"
    loaded = set(json.loads(report)["modules"])
    assert not {"langchain_community", "dashscope"} & loaded
    with sqlite3.connect(data / "memory.db") as conn:
        meta = dict(conn.execute("SELECT key, value FROM vec_memory_meta").fetchall())
    assert (meta["model"], meta["dim"]) == ("dashscope-text-embedding-v4", "1024")
