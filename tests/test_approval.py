"""Approval: a tool that needs consent pauses the turn; approve, edit or reject resumes it."""

from __future__ import annotations

import pytest
from langchain_core.tools import tool

from agent_app import events as ev
from tests.helpers import add, collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer, call

pytestmark = pytest.mark.unit
RAN: list[str] = []


@tool
def send_mail(to: str) -> str:
    """Send an e-mail (side effect)."""
    RAN.append(to)
    return f"sent to {to}"


send_mail.metadata = {"needs_approval": True}


def _svc(settings, script):
    RAN.clear()
    return scripted_service(settings, ScriptedChatModel(script=script), tools=[add, send_mail])


def test_pause_then_approve(settings):
    svc = _svc(settings, [call("send_mail", {"to": "a@example.com"}), answer("mail sent")])
    th = svc.new_thread("u").id
    res = collect(svc.stream(th, "mail a", user_id="u"))
    approval = [e for e in res.events if isinstance(e, ev.ApprovalRequired)]
    assert [(a.name, a.args) for a in approval] == [("send_mail", {"to": "a@example.com"})]
    assert RAN == [] and not any(isinstance(e, ev.Done) for e in res.events)
    # the pause survives a restart: it lives in the checkpoint
    svc2 = scripted_service(settings, svc._factory(None), tools=[add, send_mail])
    assert [a.name for a in svc2.pending_approvals("u", th)] == ["send_mail"]
    done = collect(svc2.resume(th, [{"type": "approve"}], user_id="u"))
    assert (
        RAN == ["a@example.com"]
        and done.text == "mail sent"
        and isinstance(done.events[-1], ev.Done)
    )
    assert svc2.pending_approvals("u", th) == []


def test_edit_and_reject(settings):
    svc = _svc(
        settings,
        [
            call("send_mail", {"to": "x@example.com"}),
            answer("edited"),
            call("send_mail", {"to": "y@example.com"}),
            answer("ok, not sent"),
        ],
    )
    th = svc.new_thread("u").id
    collect(svc.stream(th, "mail x", user_id="u"))
    edit = {"type": "edit", "edited_action": {"name": "send_mail", "args": {"to": "z@example.com"}}}
    assert collect(svc.resume(th, [edit], user_id="u")).text == "edited"
    assert RAN == ["z@example.com"]
    collect(svc.stream(th, "mail y", user_id="u"))
    res = collect(svc.resume(th, [{"type": "reject", "message": "no"}], user_id="u"))
    assert RAN == ["z@example.com"] and res.text == "ok, not sent"
    tool_msgs = [m for m in svc.messages("u", th) if m["role"] == "tool"]
    assert "no" in tool_msgs[-1]["text"]


def test_read_only_tools_do_not_pause_unless_asked(settings):
    svc = _svc(
        settings, [call("add", {"a": 1, "b": 1}), answer("2"), call("add", {"a": 1, "b": 1})]
    )
    th = svc.new_thread("u").id
    assert collect(svc.stream(th, "1+1", user_id="u")).text == "2"
    svc.set_thread_options("u", th, approval_mode="all")
    res = collect(svc.stream(th, "1+1 again", user_id="u"))
    assert [e.name for e in res.events if isinstance(e, ev.ApprovalRequired)] == ["add"]
