"""The stored conversation on the Chat page: tool steps, approvals and turn notes after a reload."""

from __future__ import annotations

import pytest

from tests.helpers import scripted_service
from tests.scripted_model import ScriptedChatModel, answer, call
from tests.test_ui_apptest import APP, _app, _button, _texts

pytestmark = pytest.mark.integration
assert APP


def _steps(at) -> list[str]:
    return [s.label.split(" · ")[0] for s in at.status]


def test_reused_call_ids_keep_each_step_its_own_result(settings):
    # Some servers number calls per message: both turns call "call_0"; the second one fails.
    model = ScriptedChatModel(
        script=[
            call("add", {"a": 2, "b": 3}, call_id="call_0"),
            answer("It is 5."),
            call("nope", {}, call_id="call_0"),
            answer("That tool does not exist."),
        ]
    )
    svc = scripted_service(settings, model)
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("2+3?").run()
    at.chat_input[0].set_value("use nope").run()
    reloaded = _app(svc, lang="en")
    assert _steps(reloaded) == ["Used `add`", "`nope` failed"]
    first = reloaded.status[0]
    assert "5" in [c.value for c in first.code]
    assert not any("unknown tool" in c.value for c in first.code)
    svc.close()


def test_waiting_rejected_and_edited_steps_read_as_such(settings):
    model = ScriptedChatModel(
        script=[
            call("echo_tool", {"text": "a"}, call_id="call_0"),
            answer("Not run."),
            call("echo_tool", {"text": "draft"}, call_id="call_0"),
            answer("Ran the edited call."),
        ]
    )
    svc = scripted_service(settings, model)
    thread = svc.new_thread(svc.settings.user, "tools", {"approval_mode": "all"})
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("echo a").run()
    assert _steps(at) == ["Waiting for your approval: `echo_tool`"]  # not "Used" before it ran
    [pending] = svc.pending_approvals(svc.settings.user, thread.id)
    next(t for t in at.text_input if t.key == f"reject_reason_{pending.call_id}").set_value("no")
    _button(at, f"reject_go_{pending.call_id}").click().run()
    at.chat_input[0].set_value("echo draft").run()
    [pending] = svc.pending_approvals(svc.settings.user, thread.id)
    next(t for t in at.text_area if t.key == f"edit_args_{pending.call_id}").set_value(
        '{"text": "final"}'
    )
    _button(at, f"edit_go_{pending.call_id}").click().run()
    reloaded = _app(svc, lang="en")
    assert _steps(reloaded) == ["Rejected `echo_tool`", "Used `echo_tool` (edited by you)"]
    shown = _texts(reloaded) + "\n".join(c.value for c in reloaded.code)
    assert "echo:final" in shown
    assert "human reviewer" not in shown and "User rejected the tool call" not in shown
    svc.close()


def test_sources_and_usage_are_shown_again_after_a_reload(settings, tmp_path):
    from agent_app.wiring import open_service

    doc = tmp_path / "refund.md"
    doc.write_text("# Refunds\n\nRefunds are paid within thirty days.\n", encoding="utf-8")
    model = ScriptedChatModel(
        script=[call("search_knowledge", {"query": "refunds"}), answer("Within 30 days [1].")]
    )
    s = settings.with_overrides(
        provider="openai", openai_base_url="http://127.0.0.1:9/v1", tools_dirs=""
    )
    svc = open_service(s, model_factory=lambda choice: model)
    kb = svc.knowledge_for(svc.settings.user)
    kb.create_collection("docs")
    kb.add_files([doc], "docs")
    svc.new_thread(svc.settings.user, options={"collections": ["docs"]})
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("how are refunds paid?").run()
    live = [e.label for e in at.expander]
    reloaded = _app(svc, lang="en")  # a new session: nothing kept in session state
    sources = [e for e in reloaded.expander if e.label.startswith("Sources (")]
    assert [e.label for e in sources] == [x for x in live if x.startswith("Sources (")] != []
    assert any("refund.md" in m.value for m in sources[0].markdown)
    assert any("tokens" in c.value for c in reloaded.caption)
    svc.close()
