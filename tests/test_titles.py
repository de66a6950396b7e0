"""Conversation titles: the model's after the first answer (cleaned), else the first message's."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_app.storage.threads import ThreadInfo
from agent_app.titles import clean_model_title, heuristic_title, text_lang
from agent_app.ui.sidebar import date_groups
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer
from tests.test_ui_apptest import _app

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        (
            "<think>The user asks about travel.</think>Spring trip to Hangzhou",
            "Spring trip to Hangzhou",
        ),
        ('Title: "Spring trip to Hangzhou".', "Spring trip to Hangzhou"),
        ("**杭州春游攻略**。", "杭州春游攻略"),
        ("<think>only thinking, never closed", ""),
        ('<tool_call>{"name": "search", "arguments": {}}</tool_call>', ""),
        ('{"name": "calculator", "arguments": {"expression": "1+1"}}', ""),
        ("   \n\n", ""),
    ],
)
def test_model_titles_are_cleaned_or_refused(raw, title):
    assert clean_model_title(raw) == title


def test_first_message_title_is_clean_and_short():
    assert heuristic_title("## **Plan** a `trip`\nwith details") == "Plan a trip"
    long = heuristic_title(
        "please help me write a very long letter to my landlord about the heating"
    )
    assert len(long) <= 41 and long.endswith("…") and " " in long and not long.endswith(" …")
    assert text_lang("帮我规划一下杭州的行程") == "zh" and text_lang("plan my trip") == "en"


def _titled_service(settings, *replies):
    model = ScriptedChatModel(script=[answer(r) for r in replies])
    return scripted_service(settings.with_overrides(title_model=True), model), model


def _wait(svc, thread_id):
    deadline = time.monotonic() + 10
    while svc.title_pending(thread_id) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_the_model_titles_the_first_exchange_in_its_language(settings):
    svc, model = _titled_service(
        settings, "西湖春天最美。", "<think>用户问杭州</think>杭州春季旅行", "Second answer."
    )
    user = svc.settings.user
    info = svc.new_thread(user)
    collect(svc.stream(info.id, "春天去杭州玩什么好？", user_id=user, lang="en"))
    _wait(svc, info.id)
    assert svc.get_thread(user, info.id).title == "杭州春季旅行"
    asked = model.seen[1]
    assert (
        "用户" in asked[0].content
    )  # the Chinese prompt for a Chinese conversation (UI in English)
    collect(svc.stream(info.id, "And in summer?", user_id=user, lang="en"))
    _wait(svc, info.id)
    assert svc.get_thread(user, info.id).title == "杭州春季旅行" and len(model.seen) == 3
    svc.close()


def test_a_bad_model_title_or_a_rename_keeps_the_users_title(settings):
    svc, _ = _titled_service(settings, "Sure.", '<tool_call>{"name": "x"}</tool_call>')
    user = svc.settings.user
    info = svc.new_thread(user)
    collect(svc.stream(info.id, "**Plan** my week", user_id=user, lang="en"))
    _wait(svc, info.id)
    assert svc.get_thread(user, info.id).title == "Plan my week"  # no tool syntax as a title
    svc.close()
    svc, _ = _titled_service(settings, "Sure.", "Weekly planning")
    info = svc.new_thread(user)
    events = svc.stream(info.id, "Plan my week", user_id=user, lang="en")
    for event in events:
        if event.type == "done":
            svc.rename_thread(user, info.id, "Mine")  # renamed while the title is being written
    _wait(svc, info.id)
    assert svc.get_thread(user, info.id).title == "Mine"
    svc.close()


def test_sidebar_groups_conversations_by_day(settings):
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 12, 1, 0, 30, tzinfo=zone)  # just after midnight: yesterday is close
    ages = {"a": timedelta(minutes=20), "b": timedelta(hours=1), "c": timedelta(days=3)}
    ages |= {"d": timedelta(days=20), "e": timedelta(days=90)}
    infos = [ThreadInfo(k, "u", k, 0, (now - age).timestamp()) for k, age in ages.items()]
    assert [(g, [i.id for i in m]) for g, m in date_groups(infos, now)] == [
        ("today", ["a"]),
        ("yesterday", ["b"]),
        ("week", ["c"]),
        ("month", ["d"]),
        ("older", ["e"]),
    ]
    svc = scripted_service(settings, ScriptedChatModel())
    user = svc.settings.user
    old = svc.new_thread(user, "Old talk")
    svc.new_thread(user, "New talk")
    svc.registry._exec(
        "UPDATE threads SET updated_at=? WHERE id=?", (time.time() - 40 * 86400, old.id)
    )
    at = _app(svc, lang="en")
    captions = [c.value for c in at.sidebar.caption]
    assert captions.index("Today") < captions.index("Older")
    labels = [b.label for b in at.sidebar.button if (b.key or "").startswith("thread_")]
    assert labels == ["New talk", "Old talk"]
    svc.close()
