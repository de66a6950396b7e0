"""A long conversation's checkpoints stay about linear in its text (RELIABILITY J7)."""

from __future__ import annotations

import sqlite3

import pytest

from agent_app import events as ev
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, call
from tests.test_approval import RAN, send_mail

pytestmark = pytest.mark.integration
ANSWER = "这是一段足够长的回答，用来模拟真实的对话内容。" * 8
TURNS = 120


def _checkpoint_bytes(path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(checkpoint)), 0) FROM checkpoints"
        )
        count, blobs = rows.fetchone()
        blobs += conn.execute("SELECT COALESCE(SUM(LENGTH(value)), 0) FROM writes").fetchone()[0]
        return int(count), int(blobs)
    finally:
        conn.close()


def _pg_checkpoint_bytes(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        count = conn.execute("SELECT COUNT(*) FROM checkpoints").fetchone()[0]
        blobs = conn.execute(
            "SELECT (SELECT COALESCE(SUM(LENGTH(blob)), 0) FROM checkpoint_blobs)"
            " + (SELECT COALESCE(SUM(LENGTH(blob)), 0) FROM checkpoint_writes)"
            " + (SELECT COALESCE(SUM(LENGTH(checkpoint::text)), 0) FROM checkpoints)"
        ).fetchone()[0]
    return int(count), int(blobs)


def _text_bytes(messages: list[dict]) -> int:
    return sum(len(str(m["text"]).encode()) for m in messages)


def test_checkpoints_are_pruned_and_the_thread_still_resumes(db_settings) -> None:
    settings = db_settings
    model = ScriptedChatModel(default=ANSWER)
    RAN.clear()
    svc = scripted_service(settings, model, tools=[send_mail])
    thread = svc.new_thread("u").id
    for i in range(TURNS):
        assert isinstance(
            collect(svc.stream(thread, f"第{i}个问题：请继续。", user_id="u")).events[-1], ev.Done
        )
    messages = svc.messages("u", thread)
    assert len(messages) == 2 * TURNS and messages[-2]["text"] == f"第{TURNS - 1}个问题：请继续。"
    if settings.database_url:
        count, blobs = _pg_checkpoint_bytes(settings.database_url.get_secret_value())
    else:
        count, blobs = _checkpoint_bytes(settings.data_dir / "checkpoints.db")
    text = _text_bytes(messages)
    assert count <= 3, count  # not one per turn
    assert blobs <= 6 * text, (blobs, text)  # linear in the text, not quadratic
    # An approval pause after the pruning still resumes, and nothing of the history is lost.
    model.script = [call("send_mail", {"to": "a@example.com"}), "mail sent"]
    model._index = 0
    paused = collect(svc.stream(thread, "mail a", user_id="u"))
    assert any(isinstance(e, ev.ApprovalRequired) for e in paused.events)
    assert [a.name for a in svc.pending_approvals("u", thread)] == ["send_mail"]
    done = collect(svc.resume(thread, [{"type": "approve"}], user_id="u"))
    assert done.text == "mail sent" and RAN == ["a@example.com"]
    retried = collect(svc.retry(thread, user_id="u"))
    assert isinstance(retried.events[-1], ev.Done)
    assert svc.messages("u", thread)[: 2 * TURNS] == messages
    svc.close()


def test_file_size_stays_bounded(settings) -> None:
    svc = scripted_service(settings, ScriptedChatModel(default=ANSWER), tools=[])
    thread = svc.new_thread("u").id
    sizes = []
    path = settings.data_dir / "checkpoints.db"
    for i in range(TURNS):
        collect(svc.stream(thread, f"问题{i}", user_id="u"))
        if i in (TURNS // 2 - 1, TURNS - 1):
            svc.checkpointer.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            sizes.append(path.stat().st_size)
    text = _text_bytes(svc.messages("u", thread))
    svc.close()
    # Freed pages are reused: doubling the turns about doubles the file, not quadruples it.
    assert sizes[1] <= 2.6 * sizes[0], sizes
    assert sizes[1] <= 8 * text + 256 * 1024, (sizes, text)
