"""Long conversations: older turns condensed into a summary, a fact from turn 1 still used at turn 30."""

from __future__ import annotations

import re

import pytest
from langchain_core.messages import SystemMessage

from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer
from tests.test_ui_apptest import _app, _texts

pytestmark = pytest.mark.integration
SUMMARY_PROMPTS = ("Summarize the conversation", "总结下面的对话")


def _brain(messages):
    """A scripted model: summaries keep the user's own statements; answers read what they see."""
    first = messages[0]
    if isinstance(first, SystemMessage) and any(p in first.content for p in SUMMARY_PROMPTS):
        said = [ln for ln in str(messages[1].content).splitlines() if "my " in ln.lower()]
        return answer("\n".join(dict.fromkeys(said)))
    seen = " ".join(str(m.content) for m in messages)
    if "cat's name" in str(messages[-1].content):
        found = re.search(r"cat is called (\w+)", seen)
        return answer(f"Your cat is called {found.group(1)}." if found else "I do not know.")
    return answer("Noted. " + "More detail about that topic. " * 6)


def test_a_fact_from_turn_1_is_still_used_at_turn_30(settings):
    model = ScriptedChatModel(default=_brain)
    svc = scripted_service(settings.with_overrides(context_tokens=800), model)
    user = svc.settings.user
    info = svc.new_thread(user)
    collect(svc.stream(info.id, "Hello! My cat is called Miso.", user_id=user, lang="en"))
    for turn in range(2, 30):
        collect(
            svc.stream(
                info.id, f"Tell me about topic {turn} at some length.", user_id=user, lang="en"
            )
        )
    result = collect(svc.stream(info.id, "What is my cat's name?", user_id=user, lang="en"))
    assert result.text == "Your cat is called Miso."
    prompt = model.seen[-1]
    assert all("topic 2 " not in str(m.content) for m in prompt)  # turn 2 itself is long gone
    summaries = [s for s in model.seen if any(p in str(s[0].content) for p in SUMMARY_PROMPTS)]
    assert summaries and "English" in str(summaries[0][0].content)  # in the conversation's language
    msgs = svc.messages(user, info.id)
    assert (
        msgs[0]["text"] == "Hello! My cat is called Miso." and msgs[0]["condensed"]
    )  # still shown
    assert [m["role"] for m in msgs].count("summary") == len(summaries)
    assert len([m for m in msgs if m["role"] == "user"]) == 30  # every turn on the page
    at = _app(svc, lang="en")
    assert not at.exception
    assert "condensed into a summary" in _texts(at)
    svc.close()
