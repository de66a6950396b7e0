"""The Streamlit pages under AppTest, with a scripted-model ChatService injected into session state."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.store.memory import InMemoryStore
from streamlit.testing.v1 import AppTest

from agent_app.errors import RateLimitedError
from agent_app.ui.state import SERVICE_KEY
from agent_app.wiring import open_service
from tests.helpers import scripted_service
from tests.scripted_model import ScriptedChatModel, answer, call

pytestmark = pytest.mark.integration
APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def _app(svc, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[SERVICE_KEY] = svc
    if lang:
        svc.set_prefs(svc.settings.user, lang=lang)
    return at.run()


def _page(svc, name: str, lang: str = "en") -> AppTest:
    def script(page_name: str) -> None:
        import importlib

        importlib.import_module(f"agent_app.ui.pages.{page_name}").page()

    at = AppTest.from_function(script, args=(name,), default_timeout=30)
    at.session_state[SERVICE_KEY] = svc
    at.session_state["ui.lang"] = lang
    return at.run()


def _texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


@pytest.fixture
def svc(settings):
    model = ScriptedChatModel(
        script=[
            call("add", {"a": 2, "b": 3}),
            answer("The sum is **5**, it costs $5. ![t](https://attacker/x.png)"),
        ]
    )
    service = scripted_service(settings, model)
    yield service
    service.close()


def test_offline_banner_and_empty_state(settings):
    service = open_service(settings, tools=[])
    at = _app(service, lang="en")
    assert not at.exception
    assert any("running offline" in i.value for i in at.info)
    assert any("How can I help?" in m.value for m in at.markdown)
    at.chat_input[0].set_value("   ").run()  # blank input is ignored, no thread, no call (I3)
    assert not at.exception and service.list_threads(service.settings.user) == []
    service.close()


def test_send_message_streams_answer_tool_step_and_usage(svc):
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("what is 2+3?").run()
    assert not at.exception
    text = _texts(at)
    assert "The sum is **5**, it costs \\$5. \\[image: t\\]" in text  # sanitized (D3, I4)
    assert "![" not in text
    assert [s.label.split(" · ")[0] for s in at.status] == ["Used `add`"]
    assert any("tokens" in c.value for c in at.caption)
    user = svc.settings.user
    [thread] = svc.list_threads(user)
    assert thread.title == "what is 2+3?"
    assert [m["role"] for m in svc.messages(user, thread.id)] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]


def test_thread_list_switch_rename_delete(svc):
    user = svc.settings.user
    first = svc.new_thread(user, "First talk")
    second = svc.new_thread(user, "Second talk")
    at = _app(svc, lang="en")
    assert "Second talk" in at.markdown[0].value  # newest first
    _button(at, f"thread_{first.id}").click().run()
    assert "First talk" in at.markdown[0].value
    assert at.query_params["thread"] == [first.id] or at.query_params["thread"] == first.id
    next(t for t in at.text_input if t.key == f"rename_{first.id}").set_value("Renamed talk")
    _button(at, f"rename_btn_{first.id}").click().run()
    assert svc.get_thread(user, first.id).title == "Renamed talk"
    assert "Renamed talk" in at.markdown[0].value
    _button(at, f"delete_{first.id}").click().run()
    assert any("cannot be undone" in m.value for m in at.markdown)  # the confirm dialog
    _button(at, f"delete_yes_{first.id}").click().run()
    assert [t.id for t in svc.list_threads(user)] == [second.id]
    assert "Second talk" in at.markdown[0].value


def test_new_and_search_threads(svc):
    user = svc.settings.user
    talk = svc.new_thread(user, "Holiday plans")
    at = _app(svc, lang="en")
    _button(at, "new_chat").click().run()
    _button(at, "new_chat").click().run()  # a draft: stored with its first message, not before
    assert len(svc.list_threads(user)) == 1
    at.chat_input[0].set_value("first words").run()
    assert [t.title for t in svc.list_threads(user)] == ["first words", "Holiday plans"]
    next(t for t in at.text_input if t.key == "thread_search").set_value("holiday").run()
    keys = [b.key for b in at.button if (b.key or "").startswith("thread_")]
    assert keys == [f"thread_{talk.id}"]


def test_language_switch_is_remembered_per_user(svc):
    at = _app(svc)
    assert any("有什么可以帮你" in m.value for m in at.markdown)  # default from settings (zh)
    at.segmented_control(key="lang_switch").set_value("en").run()
    assert any("How can I help?" in m.value for m in at.markdown)
    assert svc.get_prefs(svc.settings.user)["lang"] == "en"
    again = _app(svc)  # a new session of the same user
    assert any("How can I help?" in m.value for m in again.markdown)


def test_error_then_retry_without_duplicating_the_message(settings):
    model = ScriptedChatModel(script=[RateLimitedError("429"), answer("Second time lucky.")])
    svc = scripted_service(settings.with_overrides(max_retries=0), model)
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("hello").run()
    assert any("busy" in w.value for w in at.warning)
    _button(at, "retry").click().run()
    assert not at.warning
    assert "Second time lucky." in _texts(at)
    [thread] = svc.list_threads(svc.settings.user)
    roles = [m["role"] for m in svc.messages(svc.settings.user, thread.id)]
    assert roles == ["user", "assistant"]
    svc.close()


def test_approval_buttons_survive_reload_and_resume(settings):
    model = ScriptedChatModel(
        script=[
            call("echo_tool", {"text": "hi"}),
            answer("Echoed it."),
            call("echo_tool", {"text": "no"}),
            answer("Fine, not run."),
        ]
    )
    svc = scripted_service(settings, model)
    thread = svc.new_thread(svc.settings.user, "tools", {"approval_mode": "all"})
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("echo hi").run()
    [pending] = svc.pending_approvals(svc.settings.user, thread.id)
    assert at.chat_input[0].disabled
    reloaded = _app(svc, lang="en")  # a fresh session finds the same pending call
    _button(reloaded, f"approve_{pending.call_id}").click().run()
    assert "Echoed it." in _texts(reloaded)
    assert not svc.pending_approvals(svc.settings.user, thread.id)
    reloaded.chat_input[0].set_value("echo no").run()
    [second] = svc.pending_approvals(svc.settings.user, thread.id)
    next(t for t in reloaded.text_input if t.key == f"reject_reason_{second.call_id}").set_value(
        "not now"
    )
    _button(reloaded, f"reject_go_{second.call_id}").click().run()
    assert "Fine, not run." in _texts(reloaded)
    tool_msgs = [m for m in svc.messages(svc.settings.user, thread.id) if m["role"] == "tool"]
    assert tool_msgs[0]["text"] == "echo:hi" and "not now" in tool_msgs[-1]["text"]
    svc.close()


def test_edit_arguments_before_running(settings):
    model = ScriptedChatModel(script=[call("echo_tool", {"text": "draft"}), answer("ok")])
    svc = scripted_service(settings, model)
    thread = svc.new_thread(svc.settings.user, "tools", {"approval_mode": "all"})
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("echo").run()
    [pending] = svc.pending_approvals(svc.settings.user, thread.id)
    area = next(t for t in at.text_area if t.key == f"edit_args_{pending.call_id}")
    area.set_value("not json")
    _button(at, f"edit_go_{pending.call_id}").click().run()
    assert any("JSON object" in e.value for e in at.error)
    next(t for t in at.text_area if t.key == f"edit_args_{pending.call_id}").set_value(
        '{"text": "final"}'
    )
    _button(at, f"edit_go_{pending.call_id}").click().run()
    tool_msgs = [m for m in svc.messages(svc.settings.user, thread.id) if m["role"] == "tool"]
    assert tool_msgs[0]["text"].endswith("echo:final")
    svc.close()


def test_long_thread_shows_recent_messages_first(settings):
    model = ScriptedChatModel(default="fine")
    svc = scripted_service(settings, model)
    thread = svc.new_thread(svc.settings.user, "long")
    for i in range(40):
        list(svc.stream(thread.id, f"message {i}", user_id=svc.settings.user))
    at = _app(svc, lang="en")
    earlier = next(b for b in at.button if (b.key or "").startswith("earlier_"))
    assert "20" in earlier.label
    assert not any("message 0" == m.value for m in at.markdown)
    earlier.click().run()
    assert any("message 0" == m.value for m in at.markdown)
    svc.close()


def test_memory_page_add_edit_delete(settings):
    svc = scripted_service(settings, ScriptedChatModel(), store=InMemoryStore())
    at = _page(svc, "memory")
    assert not at.exception
    at.text_area(key="mem_new").set_value("I prefer green tea.")
    at.button[0].click().run()
    assert any("I prefer green tea." in m.value for m in at.markdown)
    [item] = svc.store.search((svc.settings.user, "memories"))
    at.text_area(key=f"mem_edit_{item.key}").set_value("I prefer oolong tea.")
    _button(at, f"mem_save_{item.key}").click().run()
    assert any("oolong" in m.value for m in at.markdown)
    _button(at, f"mem_del_{item.key}").click().run()
    assert not svc.store.search((svc.settings.user, "memories"))
    svc.close()


def test_memory_page_placeholder_without_a_store(settings):
    svc = open_service(settings, tools=[], memory=False)
    at = _page(svc, "memory")
    assert any("not switched on" in i.value for i in at.info)
    svc.close()


def test_knowledge_page_collections_documents_search(settings, tmp_path):
    svc = open_service(settings, tools=[])
    at = _page(svc, "knowledge")
    assert not at.exception
    at.text_input(key="kb_new_name").set_value("handbook")
    _button(at, "kb_create").click().run()
    assert at.selectbox(key="kb_pick").options == ["handbook"]  # shown by name, picked by id
    doc = tmp_path / "refunds.md"
    doc.write_text("# Refunds\n\nRefunds are paid within 14 days. <img src=x onerror=alert(1)>\n")
    kb = svc.knowledge_for(svc.settings.user)
    [res] = kb.add_files([doc], "handbook")
    assert res.status == "ready"
    at.run()
    assert any("refunds.md" in m.value for m in at.markdown)
    at.text_input(key="kb_query").set_value("refund days").run()
    hits = "\n".join(m.value for m in at.markdown)
    assert "14 days" in hits and "<img" not in hits.replace("\\<img", "")
    svc.close()


def test_settings_page_masks_keys(settings):
    from tests.conftest import CANARY

    svc = open_service(settings.with_overrides(dashscope_api_key=CANARY), tools=[])
    at = _page(svc, "settings")
    assert not at.exception
    text = _texts(at)
    assert CANARY not in text and "sk-…6789" in text  # H4
    svc.close()


def test_model_picker_stores_choices_per_conversation(svc):
    user = svc.settings.user
    talk = svc.new_thread(user, "Picker")
    at = _app(svc, lang="en")
    assert at.selectbox(key=f"provider_{talk.id}").options == ["OpenAI-compatible", "Offline"]
    assert at.selectbox(key=f"model_{talk.id}_openai").value == "gpt-4o-mini"
    at.toggle(key=f"thinking_{talk.id}").set_value(True).run()
    at.toggle(key=f"ask_{talk.id}").set_value(True).run()
    at.slider(key=f"temperature_{talk.id}").set_value(0.2).run()
    options = svc.get_thread(user, talk.id).options
    assert options["thinking"] is True
    assert options["approval_mode"] == "all" and options["temperature"] == 0.2
    at.selectbox(key=f"provider_{talk.id}").set_value("offline").run()
    assert svc.get_thread(user, talk.id).options["provider"] == "offline"
    assert svc.get_thread(user, talk.id).options["model"] == "offline"
    other = svc.new_thread(user, "Untouched")
    assert other.options == {}


def test_plan_is_shown_and_tools_can_be_switched_off(settings):
    todos = [
        {"content": "find the numbers", "status": "completed"},
        {"content": "add them", "status": "in_progress"},
    ]
    model = ScriptedChatModel(
        script=[call("write_todos", {"todos": todos}), answer("planned answer")]
    )
    service = scripted_service(settings, model)
    thread = service.new_thread(service.settings.user, options={"plan": True})
    at = _app(service, lang="en")
    at.query_params["thread"] = thread.id
    at.run()
    at.chat_input[0].set_value("do several steps").run()
    assert not at.exception
    assert "planned answer" in _texts(at)
    assert "write_todos" in model.bound_tools
    switch = next(m for m in at.multiselect if m.key == f"tools_{thread.id}")
    switch.unselect("echo_tool").run()
    assert service.get_thread(service.settings.user, thread.id).options["disabled_tools"] == [
        "echo_tool"
    ]
    service.close()
