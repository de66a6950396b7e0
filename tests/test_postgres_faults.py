"""PostgreSQL faults: the server restarts mid-turn, a wrong URL or password at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent_app import events as ev
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer

ROOT = Path(__file__).resolve().parents[1]
WRONG = "Wr0ng-CANARY-pw-7781"
pytestmark = pytest.mark.integration


def _cli(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENT_APP_DATABASE_URL": url, "AGENT_APP_LOG_LEVEL": "INFO"}
    env["AGENT_APP_LANG"] = "en"  # the messages checked below are the English ones
    return subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_wrong_password_or_address_at_start_is_one_clear_line(pg_server, data_dir):
    wrong_pw = pg_server.url("agent_app_test", password=WRONG)
    done = _cli(data_dir, wrong_pw, "threads", "list")
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "password" in done.stderr and "AGENT_APP_DATABASE_URL" in done.stderr
    assert WRONG not in out and "Traceback" not in out and pg_server.password not in out

    closed = f"postgresql://postgres:{WRONG}@127.0.0.1:9/agent_app_test"
    done = _cli(data_dir, closed, "chat", "--json", "hello")
    assert done.returncode == 1 and "cannot be reached" in done.stderr
    assert WRONG not in done.stdout + done.stderr and "Traceback" not in done.stderr

    missing = pg_server.url("no_such_db")
    done = _cli(data_dir, missing, "threads", "list")
    assert done.returncode == 1 and "does not exist" in done.stderr


@pytest.mark.slow
def test_the_ui_started_with_a_wrong_password_names_the_database_never_the_password(
    pg_server, data_dir, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    from agent_app.i18n import t

    monkeypatch.setenv("AGENT_APP_DATABASE_URL", pg_server.url("agent_app_test", password=WRONG))
    monkeypatch.setenv("AGENT_APP_DATA_DIR", str(data_dir))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    shown = [e.value for e in at.error]
    assert shown == [t("error.database_auth", "zh")]  # no language saved yet: the default
    page = " ".join(
        str(e.value) for kind in ("error", "markdown", "caption") for e in getattr(at, kind)
    )
    assert WRONG not in page and pg_server.password not in page


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_server_down_mid_turn_is_an_error_then_the_app_recovers(pg_server, db_settings):
    def stop_server_then_answer(msgs):
        pg_server.stop()
        return answer("never stored")

    model = ScriptedChatModel(script=[answer("first"), stop_server_then_answer])
    svc = scripted_service(db_settings, model)
    try:
        thread = svc.new_thread("alice").id
        assert collect(svc.stream(thread, "one", user_id="alice")).text == "first"
        broken = collect(svc.stream(thread, "two", user_id="alice", lang="en"))
        assert [e.kind for e in broken.errors] == ["database_unavailable"]
        assert "cannot be reached" in broken.errors[0].message
        assert all("Traceback" not in ev.to_json(e) for e in broken.events)
        pg_server.start()  # the same service, not restarted
        assert [m["text"] for m in svc.messages("alice", thread)] == ["one", "first"]
        model.script.append(answer("third"))
        again = collect(svc.stream(thread, "three", user_id="alice"))
        assert again.text == "third" and isinstance(again.events[-1], ev.Done)
        users = [m["text"] for m in svc.messages("alice", thread) if m["role"] == "user"]
        assert users[0] == "one" and users[-1] == "three"
    finally:
        if not (pg_server.data / "postmaster.pid").exists():
            pg_server.start()
        svc.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_restart_between_turns_is_invisible(pg_server, db_settings):
    model = ScriptedChatModel(script=[answer("first"), answer("second")])
    svc = scripted_service(db_settings, model)
    try:
        thread = svc.new_thread("alice").id
        collect(svc.stream(thread, "one", user_id="alice"))
        pg_server.restart()  # every pooled connection breaks
        res = collect(svc.stream(thread, "two", user_id="alice"))
        assert res.text == "second" and not res.errors
        assert [m["text"] for m in svc.messages("alice", thread)] == [
            "one",
            "first",
            "two",
            "second",
        ]
    finally:
        svc.close()
