"""The agent on LangGraph Server: `langgraph dev` serves langgraph.json, an SDK client and the CLI use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client

from tests.fakes import FakeDashScope, text, tool_calls
from tests.lg_server import ROOT, langgraph_dev, server_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAIL_TOOL = '''
from langchain_core.tools import tool


@tool
def send_mail(to: str) -> str:
    """Send a mail to an address."""
    return f"sent to {to}"


send_mail.metadata = {"needs_approval": True}
'''


@pytest.fixture(scope="module")
def fake():
    with FakeDashScope() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, fake):
    work = tmp_path_factory.mktemp("lgserver")
    (work / "tools").mkdir()
    (work / "tools" / "mail.py").write_text(MAIL_TOOL)
    net_log = work / "refused.log"
    env = server_env(
        {
            "DASHSCOPE_API_KEY": "sk-server-side",
            "DASHSCOPE_API_BASE": fake.base_url,
            "AGENT_APP_TOOLS_DIRS": str(work / "tools"),
            "AGENT_APP_DATA_DIR": str(work / "data"),
            "AGENT_APP_MEMORY_EXTRACT": "false",
            "AGENT_APP_TITLE_MODEL": "false",
        },
        net_log,
    )
    with langgraph_dev(work, env) as url:
        yield url
        # Whatever ran on the server (CLI analytics, tracing, license checks) stayed on the machine.
        refused = net_log.read_text() if net_log.exists() else ""
        assert refused == "", f"the server tried to leave the machine:\n{refused}"


def _run(client, thread_id: str, **kwargs) -> list[tuple[str, object]]:
    parts = client.runs.stream(
        thread_id,
        "agent",
        stream_mode=["messages-tuple", "custom", "updates"],
        context={"user_id": "u1", "thread_id": thread_id, "lang": "en"},
        **kwargs,
    )
    return [(p.event, p.data) for p in parts]


def _custom(parts, kind: str) -> list[dict]:
    return [d for e, d in parts if e == "custom" and d.get("type") == kind]


def _tokens(parts) -> str:
    return "".join(
        d[0]["content"]
        for e, d in parts
        if e == "messages"
        and d[0].get("type") == "AIMessageChunk"
        and isinstance(d[0]["content"], str)
    )


def test_sdk_client_streams_tool_steps_and_resumes_an_approval(server, fake):
    client = get_sync_client(url=server, api_key=None)
    thread_id = client.threads.create()["thread_id"]
    fake.push(tool_calls([("calculator", {"expression": "6*7"})]), text("It is 42."))
    first = _run(client, thread_id, input={"messages": [{"role": "user", "content": "6*7?"}]})
    assert [(s["name"], s["args"]) for s in _custom(first, "tool_start")] == [
        ("calculator", {"expression": "6*7"})
    ]
    assert [e["output"] for e in _custom(first, "tool_end")] == ["42"]
    assert _tokens(first) == "It is 42."

    fake.push(tool_calls([("send_mail", {"to": "a@example.com"})]), text("Mail sent."))
    second = _run(client, thread_id, input={"messages": [{"role": "user", "content": "mail a"}]})
    paused = [d["__interrupt__"] for e, d in second if e == "updates" and "__interrupt__" in d]
    assert [r["name"] for r in paused[0][0]["value"]["action_requests"]] == ["send_mail"]
    assert _custom(second, "tool_end") == []  # nothing ran before the decision
    assert client.threads.get_state(thread_id)["next"]

    resumed = _run(client, thread_id, command={"resume": {"decisions": [{"type": "approve"}]}})
    assert [e["output"] for e in _custom(resumed, "tool_end")] == ["sent to a@example.com"]
    assert _tokens(resumed) == "Mail sent."
    sent = fake.chat_requests[-1].body["messages"]
    assert any(m.get("content") == "sent to a@example.com" for m in sent)  # the model saw it
    history = client.threads.get_state(thread_id)["values"]["messages"]
    assert [m["type"] for m in history] == ["human", "ai", "tool", "ai"] * 2


def test_memories_in_the_server_store_are_recalled_into_the_prompt(server, fake):
    client = get_sync_client(url=server, api_key=None)
    memory = {"text": "The user's name is Xiaoming.", "kind": "manual", "history": []}
    client.store.put_item(["u1", "memories"], "m1", memory)  # indexed by langgraph.json's embedder
    client.store.put_item(["u2", "memories"], "m2", {**memory, "text": "The user's name is Lan."})
    thread_id = client.threads.create()["thread_id"]
    fake.push(text("You are Xiaoming."))
    parts = _run(
        client, thread_id, input={"messages": [{"role": "user", "content": "what is my name?"}]}
    )
    used = [i["text"] for d in _custom(parts, "memory_used") for i in d["items"]]
    assert used == ["The user's name is Xiaoming."]  # u1's memory only, never u2's
    system = fake.chat_requests[-1].body["messages"][0]
    assert system["role"] == "system" and "Xiaoming" in system["content"]


def _cli(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # No provider key here: an answer can only come from the server's model.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))}
    env.update(
        {
            "AGENT_APP_BACKEND": url.replace("http://", "langgraph://"),
            "AGENT_APP_TOOLS_DIRS": "",
            "AGENT_APP_MEMORY_EXTRACT": "false",
            "AGENT_APP_TITLE_MODEL": "false",
            "AGENT_APP_LANG": "en",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), "chat", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=90,
    )


def _events(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def test_chat_json_streams_through_the_server_and_resumes(server, fake, tmp_path):
    # One turn: a calculator step, then a call that needs approval; the resume finishes it.
    fake.push(
        tool_calls([("calculator", {"expression": "2+3"})]),
        tool_calls([("send_mail", {"to": "b@example.com"})]),
        text("Five, and sent."),
    )
    paused = _cli(tmp_path, server, "--json", "2+3, then mail b")
    assert paused.returncode == 3, paused.stderr
    evs = _events(paused)
    kinds = [e["type"] for e in evs]
    assert kinds[0] == "started" and kinds[-1] == "approval_required"
    assert kinds.index("tool_start") < kinds.index("tool_end") < kinds.index("approval_required")
    assert [e["output"] for e in evs if e["type"] == "tool_end"] == ["5"]
    asked = [e for e in evs if e["type"] == "approval_required"]
    assert [(a["name"], a["args"]) for a in asked] == [("send_mail", {"to": "b@example.com"})]
    thread_id = evs[0]["thread_id"]

    resumed = _cli(tmp_path, server, "--json", "--thread", thread_id, "--resume", "approve")
    assert resumed.returncode == 0, resumed.stderr
    evs = _events(resumed)
    assert [e["output"] for e in evs if e["type"] == "tool_end"] == ["sent to b@example.com"]
    assert "".join(e["text"] for e in evs if e["type"] == "token") == "Five, and sent."
    assert evs[-1]["type"] == "done"
    # The conversation lives on the server, under the CLI's conversation id.
    stored = get_sync_client(url=server, api_key=None).threads.get_state(thread_id)
    kinds = [m["type"] for m in stored["values"]["messages"]]
    assert kinds == ["human", "ai", "tool", "ai", "tool", "ai"]


def test_an_unreachable_server_is_one_clear_error(data_dir):
    from agent_app.settings import Settings
    from agent_app.wiring import open_service
    from tests.lg_server import free_port

    closed = f"langgraph://127.0.0.1:{free_port()}"  # nothing listens there
    svc = open_service(Settings(data_dir=data_dir, backend=closed, lang="en", _env_file=None))
    try:
        thread = svc.new_thread("u1")
        events = list(svc.stream(thread.id, "hi", user_id="u1"))
        assert [(e.type, e.kind) for e in events] == [("error", "backend_unavailable")]
        assert "cannot be reached" in events[0].message
        assert svc.get_thread("u1", thread.id).id == thread.id  # the conversation is kept
    finally:
        svc.close()


def test_the_chat_page_runs_its_turn_and_approval_on_the_server(server, fake, data_dir):
    from agent_app.settings import Settings
    from agent_app.wiring import open_service
    from tests.test_ui_apptest import _app, _button, _texts

    settings = Settings(data_dir=data_dir, backend=server, lang="en", _env_file=None)
    svc = open_service(settings)
    try:
        thread = svc.new_thread(settings.user, "mail", {"approval_mode": "ask"})
        fake.push(tool_calls([("send_mail", {"to": "c@example.com"})]), text("Mailed c."))
        at = _app(svc, lang="en")
        assert not any("running offline" in i.value for i in at.info)  # the server's model answers
        at.chat_input[0].set_value("mail c").run()
        [pending] = svc.pending_approvals(settings.user, thread.id)  # read from the server
        assert (pending.name, pending.args) == ("send_mail", {"to": "c@example.com"})
        _button(at, f"approve_{pending.call_id}").click().run()
        assert not at.exception
        assert "Mailed c." in _texts(at)
        assert svc.pending_approvals(settings.user, thread.id) == []
        stored = svc.messages(settings.user, thread.id)
        shown = [(m["role"], m["text"]) for m in stored]
        assert shown[0] == ("user", "mail c") and shown[-1] == ("assistant", "Mailed c.")
        # The answer's notes are kept beside it, across the pause: both model calls' usage.
        assert len(stored[-1]["notes"]["usage"]) == 2, stored[-1].get("notes")
        # Regenerate and edit rewrite the server's thread through its state API.
        fake.push(text("Mailed c again."))
        redo = list(svc.regenerate(thread.id, user_id=settings.user))
        assert redo[-1].type == "done", redo
        shown = svc.messages(settings.user, thread.id)
        assert [m["text"] for m in shown if m["role"] == "assistant"][-1] == "Mailed c again."
        asked = shown[0]
        assert asked["versions"] == {"active": 1, "count": 2}
        assert svc.show_version(settings.user, thread.id, asked["id"], 0)
        assert svc.messages(settings.user, thread.id)[-1]["text"] == "Mailed c."
        fake.push(text("Noted, d."))
        edited = list(svc.edit_and_resend(thread.id, asked["id"], "note d", user_id=settings.user))
        assert edited[-1].type == "done", edited
        after = [(m["role"], m["text"]) for m in svc.messages(settings.user, thread.id)]
        assert after == [("user", "note d"), ("assistant", "Noted, d.")]
    finally:
        svc.close()
