"""Message actions through ChatService: regenerate keeps versions, edit resends, thumbs are stored."""

from __future__ import annotations

import pytest

from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer, call

pytestmark = pytest.mark.integration


def _answers(svc, user, thread_id):
    return [
        m["text"] for m in svc.messages(user, thread_id) if m["role"] == "assistant" and m["text"]
    ]


def test_regenerate_keeps_versions_and_the_thread_goes_on_from_the_one_shown(settings):
    model = ScriptedChatModel(
        script=[
            answer("Paris."),
            call("add", {"a": 1, "b": 2}),
            answer("Three, so Lyon."),
            lambda msgs: answer("after: " + " | ".join(str(m.content) for m in msgs[1:])),
        ]
    )
    svc = scripted_service(settings, model)
    user = svc.settings.user
    info = svc.new_thread(user)
    collect(svc.stream(info.id, "Capital of France?", user_id=user, lang="en"))
    result = collect(svc.regenerate(info.id, user_id=user, lang="en"))
    assert result.events[-1].type == "done"
    msgs = svc.messages(user, info.id)
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "assistant"]
    assert msgs[0]["versions"] == {"active": 1, "count": 2}
    assert svc.show_version(user, info.id, msgs[0]["id"], 0)
    assert _answers(svc, user, info.id) == ["Paris."]
    assert svc.messages(user, info.id)[0]["versions"] == {"active": 0, "count": 2}
    collect(svc.stream(info.id, "And Spain?", user_id=user, lang="en"))
    last = model.seen[-1]
    said = " ".join(str(m.content) for m in last)
    assert "Paris." in said and "Lyon" not in said  # the model sees the version on screen
    assert svc.show_version(user, info.id, msgs[0]["id"], 1) is False  # only the last turn flips
    svc.close()


def test_edit_resends_from_that_message_and_thumbs_are_kept(settings):
    model = ScriptedChatModel(script=[answer("One."), answer("Two."), answer("Edited answer.")])
    svc = scripted_service(settings, model)
    user = svc.settings.user
    info = svc.new_thread(user)
    collect(svc.stream(info.id, "first", user_id=user, lang="en"))
    collect(svc.stream(info.id, "second", user_id=user, lang="en"))
    first = svc.messages(user, info.id)[0]
    result = collect(
        svc.edit_and_resend(info.id, first["id"], "first, edited", user_id=user, lang="en")
    )
    assert result.events[-1].type == "done"
    msgs = svc.messages(user, info.id)
    assert [(m["role"], m["text"]) for m in msgs] == [
        ("user", "first, edited"),
        ("assistant", "Edited answer."),
    ]
    assert [str(m.content) for m in model.seen[-1][1:]] == ["first, edited"]  # nothing after it
    svc.set_feedback(user, info.id, msgs[1]["id"], "down")
    assert svc.messages(user, info.id)[1]["notes"]["feedback"] == "down"
    assert svc.messages(user, info.id)[1]["notes"]["usage"]  # the turn's own notes stay
    svc.set_feedback(user, info.id, msgs[1]["id"], None)
    assert "feedback" not in svc.messages(user, info.id)[1]["notes"]
    svc.close()


def test_page_regenerates_flips_versions_and_edits(settings):
    from tests.test_ui_apptest import _app, _button, _texts

    model = ScriptedChatModel(
        script=[answer("First try."), answer("Second try."), answer("Answer to the edit.")]
    )
    svc = scripted_service(settings, model)
    user = svc.settings.user
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("Say something").run()
    [thread] = svc.list_threads(user)
    assert "First try." in _texts(at)
    _button(at, f"regenerate_{thread.id}").click().run()
    assert not at.exception
    text = _texts(at)
    assert "Second try." in text and "First try." not in text and "Version 2 of 2" in text
    asked = svc.messages(user, thread.id)[0]["id"]
    _button(at, f"ver_prev_{asked}").click().run()
    text = _texts(at)
    assert "First try." in text and "Second try." not in text and "Version 1 of 2" in text
    next(t for t in at.text_area if t.key == f"edit_{asked}_text").set_value("Say it again")
    _button(at, f"edit_{asked}_send").click().run()
    assert not at.exception
    msgs = svc.messages(user, thread.id)
    assert [m["text"] for m in msgs] == ["Say it again", "Answer to the edit."]
    assert "Answer to the edit." in _texts(at) and "First try." not in _texts(at)
    svc.close()
