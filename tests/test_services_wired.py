"""The whole app wired: remember in one conversation, recall in another; cite the knowledge base."""

from __future__ import annotations

import pytest

from agent_app import events as ev
from agent_app.wiring import open_service
from tests.helpers import collect
from tests.scripted_model import ScriptedChatModel, answer, call

pytestmark = pytest.mark.integration


def _svc(settings, model):
    s = settings.with_overrides(
        provider="openai", openai_base_url="http://127.0.0.1:9/v1", tools_dirs=""
    )
    return open_service(s, model_factory=lambda choice: model)


def test_remember_then_recall_in_a_new_conversation(settings):
    model = ScriptedChatModel(
        script=[
            call("remember", {"text": "我对花生过敏"}),
            answer("记住了。"),
            answer("好的，避开花生。"),
        ]
    )
    svc = _svc(settings, model)
    first = svc.new_thread("alice").id
    res = collect(svc.stream(first, "记住：我对花生过敏", user_id="alice"))
    assert any(
        isinstance(e, ev.ToolEnd) and e.error is None and "花生" in e.output for e in res.events
    )
    svc.close()
    svc = _svc(settings, model)
    second = svc.new_thread("alice").id
    res2 = collect(svc.stream(second, "推荐一道菜，我有什么过敏吗？花生？", user_id="alice"))
    used = [e for e in res2.events if isinstance(e, ev.MemoryUsed)]
    assert used and "花生" in used[0].items[0]["text"]
    assert "花生" in model.seen[-1][0].content  # recalled into the system prompt
    bob = svc.new_thread("bob").id
    res3 = collect(svc.stream(bob, "我对花生过敏吗？", user_id="bob"))
    assert not any(isinstance(e, ev.MemoryUsed) for e in res3.events)
    assert "花生过敏" not in model.seen[-1][0].content


def test_knowledge_answer_carries_citations(settings, tmp_path):
    doc = tmp_path / "refund.md"
    doc.write_text(
        "# 售后\n\n退款政策：购买后三十天内可以无理由退款，需保留发票。\n", encoding="utf-8"
    )
    model = ScriptedChatModel(
        script=[call("search_knowledge", {"query": "退款政策"}), answer("可以退款 [1]。")]
    )
    svc = _svc(settings, model)
    kb = svc.knowledge_for("alice")
    kb.create_collection("docs")
    kb.add_files([doc], "docs")
    thread = svc.new_thread("alice", options={"collections": ["docs"]}).id
    res = collect(svc.stream(thread, "怎么退款？", user_id="alice"))
    cites = [e for e in res.events if isinstance(e, ev.Citation)]
    assert cites and cites[0].source == "refund.md" and "三十天" in cites[0].text
    other = svc.new_thread("mallory").id
    res2 = collect(ScriptedChatModel and svc.stream(other, "怎么退款？", user_id="mallory"))
    assert not any(isinstance(e, ev.Citation) for e in res2.events)
