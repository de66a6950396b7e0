"""The local semantic embedder: the default without a key, through the turn and the agent's tool."""

from __future__ import annotations

import logging

import pytest

from agent_app import events as ev
from agent_app.knowledge.service import KnowledgeService
from agent_app.memory.service import MemoryService
from agent_app.providers import local_embed
from agent_app.settings import Settings
from agent_app.wiring import open_memory_store, open_service
from tests.helpers import collect
from tests.scripted_model import ScriptedChatModel, answer, call

pytestmark = pytest.mark.integration

ALICE = [
    "我的车是 2021 年的比亚迪汉 EV",
    "我对花生和腰果过敏",
    "我女儿叫小雨，今年上小学三年级",
    "My wife works as an architect in Shanghai.",
    "I'm learning to cook Thai food.",
    "我每周二晚上去游泳",
]
# Chinese documents; the questions below share no word with the passage that answers them.
HANDBOOK = {
    "合规.md": "# 合规\n\n供应商赠送的礼品价值超过 200 元的，须在三日内上交合规部登记。\n",
    "车间.md": "# 车间安全\n\n红酒、白酒等酒类不得带入车间，违者记过一次。\n",
    "福利.md": "# 员工福利\n\n员工生日当月可以收到公司送的蛋糕券一张。\n",
    "请假.md": "# 请假\n\n病假需要提供医院开具的证明，三天以内由部门经理审批。\n",
    "加班.md": "# 加班\n\n工作日晚上加班超过两小时的，可以报销打车费用。\n",
}


def _settings(tmp_path, **extra) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", provider="offline", tools_dirs="", _env_file=None, **extra
    )


def _service(settings, model):
    s = settings.with_overrides(provider="openai", openai_base_url="http://127.0.0.1:9/v1")
    return open_service(s, model_factory=lambda choice: model)


def test_without_a_key_both_stores_use_the_local_model(tmp_path) -> None:
    settings = _settings(tmp_path)
    store = open_memory_store(settings)
    kb = KnowledgeService(settings)
    try:
        assert (store.model, store.dims) == ("local-use-m3", 512)
        assert kb.status()["embedder"] == "local-use-m3"
    finally:
        kb.close()
        store.close()


def test_a_turn_recalls_a_paraphrase_that_shares_no_word(tmp_path) -> None:
    model = ScriptedChatModel(script=[answer("Thai food."), answer("Here is a haiku.")])
    svc = _service(_settings(tmp_path), model)
    try:
        for text in ALICE:
            svc.memory.add("alice", text)
        svc.memory.add("bob", "I'm learning to cook Italian food.")
        thread = svc.new_thread("alice").id
        res = collect(svc.stream(thread, "What kind of cuisine am I studying?", user_id="alice"))
        used = [
            item["text"] for e in res.events if isinstance(e, ev.MemoryUsed) for item in e.items
        ]
        assert used[:1] == ["I'm learning to cook Thai food."]
        assert "Thai food" in model.seen[-1][0].content  # it reached the system prompt
        res = collect(svc.stream(thread, "Write a haiku about autumn", user_id="alice"))
        assert not any(isinstance(e, ev.MemoryUsed) for e in res.events)  # nothing unrelated
    finally:
        svc.close()


def test_the_agents_tool_finds_a_chinese_rule_for_an_english_question(tmp_path) -> None:
    question = "Can I keep a gift a vendor sent me?"
    model = ScriptedChatModel(script=[call("search_knowledge", {"query": question}), answer("[1]")])
    svc = _service(_settings(tmp_path), model)
    try:
        kb = svc.knowledge_for("alice")
        kb.create_collection("rules")
        kb.add_files([(name, text.encode()) for name, text in HANDBOOK.items()], "rules")
        thread = svc.new_thread("alice", options={"collections": ["rules"]}).id
        res = collect(svc.stream(thread, question, user_id="alice"))
    finally:
        svc.close()
    cites = [e for e in res.events if isinstance(e, ev.Citation)]
    assert cites and cites[0].source == "合规.md"


def test_without_the_package_the_offline_embedder_answers(tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.setattr(local_embed, "available", lambda: False)
    settings = _settings(tmp_path)
    with caplog.at_level(logging.WARNING):
        store = open_memory_store(settings)
    kb = KnowledgeService(settings)
    try:
        assert store.model == "offline-ngram-512"
        assert kb.status()["embedder"] == "offline-ngram-512"
        [res] = kb.add_files([("请假.md", HANDBOOK["请假.md"].encode())], "c")
        assert res.status == "ready" and kb.search("病假证明", ["c"])[0]["source"] == "请假.md"
    finally:
        kb.close()
        store.close()
    assert "not installed" in caplog.text


def test_data_from_the_offline_embedder_moves_to_the_local_model(tmp_path) -> None:
    old = _settings(tmp_path, embedding_provider="offline")
    kb, store = KnowledgeService(old), open_memory_store(old)
    kb.add_files([(name, text.encode()) for name, text in HANDBOOK.items()], "c")
    MemoryService(store).add("alice", "I'm learning to cook Thai food.")
    kb.close()
    store.close()

    new = _settings(tmp_path)  # the upgrade: same data directory, the new default
    store = open_memory_store(new)  # memories are re-embedded on open
    kb = KnowledgeService(new)
    try:
        assert store.model == "local-use-m3"
        found = MemoryService(store).search("alice", "What kind of cuisine am I studying?", 3)
        assert [m["text"] for m in found] == ["I'm learning to cook Thai food."]
        status = kb.status()
        assert (status["indexed_with"], status["embedder"]) == ("offline-ngram-512", "local-use-m3")
        assert kb.search("病假证明", ["c"])[0]["source"] == "请假.md"  # keywords meanwhile
        kb.reindex()
        assert kb.status()["indexed_with"] == "local-use-m3"
        assert kb.search("Can I keep a gift a vendor sent me?", ["c"])[0]["source"] == "合规.md"
    finally:
        kb.close()
        store.close()


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Both stores on the default embedder, filled once: the odd queries only read them."""
    settings = _settings(tmp_path_factory.mktemp("odd"))
    store, kb = open_memory_store(settings), KnowledgeService(settings)
    memories = MemoryService(store)
    for text in ALICE:
        memories.add("alice", text)
    kb.add_files([("请假.md", HANDBOOK["请假.md"].encode())], "c")
    yield memories, kb
    kb.close()
    store.close()


@pytest.mark.parametrize(
    "query", ["", "   ", "😀🎉👩‍👩‍👧‍👦", "مرحبا بالعالم", "नमस्ते", "我" * 1_000_000, "\x00\ud800"]
)
def test_odd_queries_give_sane_results(stores, query) -> None:
    memories, kb = stores
    found = memories.search("alice", query, 3)
    hits = kb.search(query, ["c"], 3)
    assert isinstance(found, list) and len(found) <= 3
    assert isinstance(hits, list) and len(hits) <= 3
    assert kb.search("病假要什么证明", ["c"])[0]["source"] == "请假.md"  # still serving


def test_the_chat_page_warms_the_model_in_the_background(tmp_path, monkeypatch, caplog) -> None:
    svc = _service(_settings(tmp_path), ScriptedChatModel(script=[]))
    try:
        monkeypatch.setattr(local_embed, "_model", None)  # as in a fresh process
        svc.warm(None).join(timeout=120)
        assert local_embed._model is not None
        monkeypatch.setattr(local_embed, "_model", None)

        def broken():
            raise MemoryError

        monkeypatch.setattr(local_embed, "_encoder", broken)
        with caplog.at_level(logging.WARNING):
            svc.warm(None).join(timeout=120)  # a failed load is logged, the thread ends cleanly
        assert "local embedding model not loaded: MemoryError" in caplog.text
    finally:
        svc.close()
