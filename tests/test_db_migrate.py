"""`agent-app db migrate` copies a SQLite data directory into PostgreSQL, counted; `db upgrade`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from agent_app import events as ev
from agent_app.auth import open_accounts
from agent_app.auth.passwords import Passwords
from agent_app.budget import open_ledger
from agent_app.settings import Settings
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AGENT_APP_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _fill(data_dir: Path) -> dict[str, list[str]]:
    """Two users' conversations, notes, preferences, memories, usage and an account, on SQLite."""
    settings = Settings(data_dir=data_dir, provider="offline", _env_file=None)
    model = ScriptedChatModel(default=lambda msgs: answer("答：" + msgs[-1].content))
    svc = scripted_service(settings, model)
    threads: dict[str, list[str]] = {}
    for user in ("alice", "bob"):
        for n in range(2):
            thread = svc.new_thread(user, title=f"{user} 对话 {n}").id
            for i in range(2):
                assert isinstance(
                    collect(svc.stream(thread, f"{user}-{n}-{i}", user_id=user)).events[-1], ev.Done
                )
            threads.setdefault(user, []).append(thread)
        svc.set_prefs(user, lang="en")
        svc.memory.add(user, f"{user} 喜欢喝乌龙茶")
    svc.close()
    ledger = open_ledger(settings)
    ledger.record("alice", ev.Usage(11, 22, 1.0, "m"))
    ledger.close()
    accounts = open_accounts(
        settings.with_overrides(auth="password"),
        Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)),
    )
    accounts.add_user("carol", "long enough pw")
    accounts.close()
    return threads


def test_migrate_copies_everything_and_the_app_runs_on_it(pg_url, tmp_path):
    source = tmp_path / "data"
    threads = _fill(source)
    before = scripted_service(
        Settings(data_dir=source, provider="offline", _env_file=None), ScriptedChatModel()
    )
    expected = {t: before.messages(u, t) for u, ts in threads.items() for t in ts}
    remembered = {u: before.memory.list(u) for u in threads}
    before.close()

    done = _cli("db", "migrate", "--from", f"sqlite://{source}", "--to", pg_url)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["ok"] is True and "****" in summary["database"]
    counts = summary["counts"]
    assert counts["threads"] == {"source": 4, "database": 4}
    assert counts["checkpoints"] == {"source": 4, "database": 4}
    assert counts["memories"] == {"source": 2, "database": 2}
    assert counts["users"]["database"] == 1 and counts["turn_notes"]["source"] >= 0

    moved = Settings(
        data_dir=tmp_path / "empty", provider="offline", database_url=pg_url, _env_file=None
    )
    svc = scripted_service(moved, ScriptedChatModel(script=[answer("continued")]))
    try:
        for user, ts in threads.items():
            assert sorted(t.id for t in svc.list_threads(user)) == sorted(ts)
            assert svc.get_prefs(user) == {"lang": "en"}
            moved_items = svc.memory.list(user)
            assert [m["text"] for m in moved_items] == [f"{user} 喜欢喝乌龙茶"]
            assert [(m["id"], m["created_at"], m["updated_at"]) for m in moved_items] == [
                (m["id"], m["created_at"], m["updated_at"]) for m in remembered[user]
            ]  # the copy keeps when each memory was made
            assert [m["text"] for m in svc.memory.search(user, "乌龙茶")] == [
                f"{user} 喜欢喝乌龙茶"
            ]
        assert _has_vector_index(pg_url)  # built once after the bulk copy
        for thread, messages in expected.items():
            owner = "alice" if thread in threads["alice"] else "bob"
            assert svc.messages(owner, thread) == messages
        first = threads["alice"][0]
        assert collect(svc.stream(first, "and now?", user_id="alice")).text == "continued"
        assert svc.budget.tokens_today("alice") >= 33
        assert open_accounts(moved.with_overrides(auth="password")).get("carol").name == "carol"
    finally:
        svc.close()

    again = _cli("db", "migrate", "--from", f"sqlite://{source}", "--to", pg_url)
    assert again.returncode == 0 and json.loads(again.stdout)["counts"]["threads"]["database"] == 4
    # The older copy written again leaves the conversation that went on since as it is.
    svc = scripted_service(moved, ScriptedChatModel())
    try:
        texts = [m["text"] for m in svc.messages("alice", first)]
        assert texts == [m["text"] for m in expected[first]] + ["and now?", "continued"]
    finally:
        svc.close()


def _has_vector_index(url: str) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_indexes WHERE indexname = 'store_vectors_embedding_idx'"
            " AND schemaname = current_schema()"
        ).fetchone()
    return row is not None


def test_upgrade_creates_the_schema_once(pg_url):
    first = _cli("db", "upgrade", "--url", pg_url)
    assert first.returncode == 0, first.stderr[-2000:]
    ready = json.loads(first.stdout)["ready"]
    assert ready == ["conversations", "usage", "accounts", "memory", "knowledge", "checkpoints"]
    from agent_app.db_migrate import upgrade

    again = Settings(database_url=pg_url, _env_file=None)
    assert upgrade(again) == ready  # a second run (here in-process) finds everything in place


HANDBOOK = "员工手册：年假每年十五天，病假需要医生证明。报销在每月五日前提交。"


def _fill_knowledge(data_dir: Path) -> None:
    from agent_app.knowledge.service import KnowledgeService

    kb = KnowledgeService(Settings(data_dir=data_dir, provider="offline", _env_file=None))
    try:
        alice = kb.for_user("alice")
        alice.add_files([("handbook.txt", HANDBOOK.encode())], "handbook")
        alice.share("handbook", ["bob"])
        kb.for_user("bob").add_files(
            [("notes.md", "# 笔记\n鲍勃的年假计划：去云南。".encode())], "notes"
        )
    finally:
        kb.close()


def test_sqlite_to_postgres_and_back_keeps_documents_memories_and_conversations(pg_url, tmp_path):
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.memory.service import memory_namespace
    from agent_app.wiring import open_memory_store

    first, back = tmp_path / "first", tmp_path / "back"
    threads = _fill(first)
    _fill_knowledge(first)
    there = _cli("db", "migrate", "--from", f"sqlite://{first}", "--to", pg_url)
    assert there.returncode == 0, there.stderr[-2000:]
    assert json.loads(there.stdout)["counts"]["kb_documents"] == {"source": 2, "database": 2}

    done = _cli("db", "export", "--to", f"sqlite://{back}", "--url", pg_url)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["ok"] is True and "****" in summary["database"]
    counts = summary["counts"]
    assert counts["threads"] == {"source": 4, "database": 4}
    assert counts["checkpoints"] == {"source": 4, "database": 4}
    assert counts["memories"] == {"source": 2, "database": 2}
    assert counts["kb_documents"] == {"source": 2, "database": 2}
    assert counts["kb_files"] == {"source": 2, "database": 2}

    def state(data_dir: Path) -> dict:
        settings = Settings(data_dir=data_dir, provider="offline", _env_file=None)
        svc = scripted_service(settings, ScriptedChatModel())
        kb = KnowledgeService(settings)
        store = open_memory_store(settings)
        try:
            return {
                "messages": {t: svc.messages(u, t) for u, ts in threads.items() for t in ts},
                "memories": sorted(
                    (it.value["text"], it.created_at)
                    for u in threads
                    for it in store.search(memory_namespace(u), limit=50)
                ),
                "bob_sees": sorted(h["source"] for h in kb.for_user("bob").search("年假")),
                "alice_sees": sorted(h["source"] for h in kb.for_user("alice").search("年假")),
                "files": len(kb.files.names()),
            }
        finally:
            store.close()
            kb.close()
            svc.close()

    before, after = state(first), state(back)
    assert after == before
    assert after["bob_sees"] == ["handbook.txt", "notes.md"] and after["alice_sees"] == [
        "handbook.txt"
    ]
    assert after["files"] == 2 and len(after["memories"]) == 2
