"""Durability: PRAGMAs, kill -9 mid-turn, two writer processes, tampered checkpoints, odd text."""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import ormsgpack
import pytest

from agent_app import events as ev
from agent_app.logsetup import configure_logging, register_secret
from agent_app.storage.sqlite import connect, integrity_ok, pragmas
from tests.conftest import CANARY
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer

ROOT = Path(__file__).resolve().parents[1]


def _worker(
    data_dir: Path, thread_id: str, turns: int, tag: str, database_url: object = None
) -> subprocess.Popen:
    env = dict(os.environ)
    if database_url is not None:  # the same PostgreSQL database as the test's own service
        env["AGENT_APP_DATABASE_URL"] = database_url.get_secret_value()  # type: ignore[attr-defined]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_worker", str(data_dir), thread_id, str(turns), tag],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.unit
def test_durability_pragmas(settings):  # B2
    svc = scripted_service(settings, ScriptedChatModel())
    assert pragmas(svc.checkpointer.conn) == {
        "journal_mode": "wal",
        "synchronous": 2,
        "busy_timeout": 30000,
    }
    assert (
        pragmas(svc.registry.backend.conn)["journal_mode"] == "wal"
    )  # thread titles: NORMAL is enough
    assert pragmas(svc.registry.backend.conn)["synchronous"] == 1
    assert os.environ["LANGGRAPH_STRICT_MSGPACK"] == "true"


@pytest.mark.integration
@pytest.mark.slow
def test_kill_9_mid_turn_leaves_a_resumable_store(settings):  # B1
    svc = scripted_service(settings, ScriptedChatModel())
    thread_id = svc.new_thread("u").id
    svc.close()
    rng = random.Random(7)
    for _ in range(int(os.environ.get("AGENT_APP_CRASH_LOOPS", "6"))):
        proc = _worker(settings.data_dir, thread_id, 1000, "k")
        assert proc.stdout is not None
        proc.stdout.readline()  # one turn is committed; now kill at a random point of the next ones
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for db in ("checkpoints.db", "app.db"):
            assert integrity_ok(settings.data_dir / db)
    svc = scripted_service(settings, ScriptedChatModel(script=[answer("after crash")]))
    before = len(svc.messages("u", thread_id))
    assert before > 0
    res = collect(svc.stream(thread_id, "still there?", user_id="u"))
    assert res.text == "after crash" and isinstance(res.events[-1], ev.Done)
    msgs = svc.messages("u", thread_id)
    calls = {c["id"] for m in msgs if m["role"] == "assistant" for c in m["tool_calls"]}
    assert calls <= {m["tool_call_id"] for m in msgs if m["role"] == "tool"}


@pytest.mark.integration
@pytest.mark.slow
def test_two_processes_writing_lose_nothing(db_settings, backend, tmp_path):  # B10
    """Two app processes × 100 turns (a tool call and an answer each) on one database: 0 lost."""
    settings = db_settings
    svc = scripted_service(settings, ScriptedChatModel())
    t1, t2 = svc.new_thread("u").id, svc.new_thread("u").id
    turns = int(os.environ.get("AGENT_APP_CONCURRENT_TURNS", "100"))
    # On PostgreSQL each process has a data directory of its own: only the database is shared.
    dirs = [settings.data_dir] * 2 if backend == "sqlite" else [tmp_path / "r1", tmp_path / "r2"]
    procs = [
        _worker(dirs[0], t1, turns, "p1", settings.database_url),
        _worker(dirs[1], t2, turns, "p2", settings.database_url),
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=600)  # stdout is drained here too
        assert proc.returncode == 0, err.decode()[-2000:]
    for thread_id, tag in ((t1, "p1"), (t2, "p2")):
        said = svc.messages("u", thread_id)
        assert [m["text"] for m in said if m["role"] == "user"] == [
            f"{tag}-{i}" for i in range(turns)
        ]
        answers = [m["text"] for m in said if m["role"] == "assistant" and m["text"]]
        assert answers == [f"answer {tag}"] * turns  # none lost, none from the other process
        assert sum(m["role"] == "tool" for m in said) == turns
    if settings.database_url is None:
        assert integrity_ok(settings.data_dir / "checkpoints.db")


@pytest.mark.unit
def test_tampered_checkpoint_blob_never_executes(settings, tmp_path):  # B6
    marker = tmp_path / "pwned"
    svc = scripted_service(settings, ScriptedChatModel(script=[answer("hi")]))
    thread_id = svc.new_thread("u").id
    collect(svc.stream(thread_id, "hello", user_id="u"))
    evil_ext = ormsgpack.packb(
        ormsgpack.Ext(0, ormsgpack.packb(("os", "system", [f"touch {marker}"])))
    )
    lc_json = (
        b'{"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {"command": "touch '
        + str(marker).encode()
        + b'"}}'
    )
    conn = connect(settings.data_dir / "checkpoints.db")
    conn.execute("UPDATE checkpoints SET checkpoint=? WHERE thread_id=?", (evil_ext, thread_id))
    conn.execute("UPDATE writes SET type='json', value=? WHERE thread_id=?", (lc_json, thread_id))
    conn.close()
    svc2 = scripted_service(settings, ScriptedChatModel(script=[answer("ok")]))
    try:
        svc2.messages("u", thread_id)
        list(svc2.stream(thread_id, "again", user_id="u"))
    except Exception:
        pass  # refusing the data is fine; executing it is not
    assert not marker.exists()


@pytest.mark.unit
def test_user_lc_dict_text_stays_plain_data(db_settings, tmp_path):  # B6: lc-keyed content
    settings = db_settings
    marker = tmp_path / "pwned2"
    text = (
        '{"lc": 1, "type": "constructor", "id": ["os", "system"], "kwargs": {"x": "touch '
        + str(marker)
        + '"}}'
    )
    svc = scripted_service(settings, ScriptedChatModel(script=[answer(text)]))
    thread_id = svc.new_thread("u").id
    collect(svc.stream(thread_id, text, user_id="u"))
    msgs = scripted_service(settings, ScriptedChatModel()).messages("u", thread_id)
    assert [m["text"] for m in msgs] == [text, text] and not marker.exists()


@pytest.mark.unit
@pytest.mark.parametrize(
    "raw, expected",
    [
        ("a\ud800b", "a?b"),
        ("nul\x00byte", "nulbyte"),
        ("ok👩‍👩‍👧‍👦 مرحبا é 。，", "ok👩‍👩‍👧‍👦 مرحبا é 。，"),
    ],
)
def test_odd_text_round_trips_after_sanitizing(db_settings, raw, expected):  # B7, I1
    settings = db_settings
    svc = scripted_service(
        settings, ScriptedChatModel(default=lambda msgs: answer(msgs[-1].content))
    )
    thread_id = svc.new_thread("u", title=raw).id
    res = collect(svc.stream(thread_id, raw, user_id="u"))
    msgs = svc.messages("u", thread_id)
    assert msgs[0]["text"] == expected and msgs[1]["text"] == expected == res.text
    assert svc.get_thread("u", thread_id).title == expected


@pytest.mark.unit
def test_debug_logging_never_shows_keys(capsys):  # H2
    register_secret(CANARY)
    configure_logging("DEBUG")
    try:
        logging.getLogger("agent_app.test").debug(
            "headers %s", {"Authorization": f"Bearer {CANARY}"}
        )
        logging.getLogger("agent_app.test").info("url https://x/?key=abc123&y=1 api_key=%s", CANARY)
        assert logging.getLogger("httpx").level == logging.WARNING
    finally:
        configure_logging("WARNING")
    err = capsys.readouterr().err
    assert CANARY not in err and "abc123" not in err and "Bearer" in err


@pytest.mark.unit
def test_other_users_thread_is_not_found(db_settings):  # B13 at the service
    settings = db_settings
    svc = scripted_service(settings, ScriptedChatModel(script=[answer("secret")]))
    thread_id = svc.new_thread("alice").id
    collect(svc.stream(thread_id, "my secret", user_id="alice"))
    res = collect(svc.stream(thread_id, "what did she say?", user_id="bob"))
    assert [e.kind for e in res.errors] == ["not_found"]
    assert all("secret" not in ev.to_json(e) for e in res.events)
    from agent_app.errors import NotFoundError

    with pytest.raises(NotFoundError):
        svc.messages("bob", thread_id)
