"""Automatic extraction: tolerant parsing, background running, contradictions keep history."""

from __future__ import annotations

import json
import threading
import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agent_app.memory.extract import MemoryExtractor, extract_memories, parse_updates
from agent_app.memory.service import MemoryService
from agent_app.memory.store import SqliteFaissStore
from agent_app.providers.offline_embed import OfflineEmbedder
from tests.scripted_model import ScriptedChatModel

pytestmark = pytest.mark.unit
TURN = [HumanMessage("我叫小王，对花生过敏。今天天气怎么样？", id="h1"), AIMessage("今天晴。")]


@pytest.fixture
def service(tmp_path):
    store = SqliteFaissStore(
        tmp_path / "memory.sqlite", OfflineEmbedder(), index_fields=("text",), background=False
    )
    yield MemoryService(store)
    store.close()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('["likes tea", "lives in Hangzhou"]', ["likes tea", "lives in Hangzhou"]),
        ('```json\n["likes tea"]\n```', ["likes tea"]),
        ('<think>the user said [x]</think>["对花生过敏"]', ["对花生过敏"]),
        (
            '[{"text": "moved to Shanghai", "replaces": "m1"}, {"text": "x", "replaces": "nope"}]',
            ["moved to Shanghai", "x"],
        ),
        ("I think the user likes tea", []),
        ("[not json", []),
        ('{"text": "a dict"}', []),
        ("", []),
        ('["", 3, null, {"no": 1}, "  ok  "]', ["ok"]),
        ('["my key is sk-abcdef1234567890", "likes jazz"]', ["likes jazz"]),
        (json.dumps([f"fact {i}" for i in range(20)]), [f"fact {i}" for i in range(5)]),
    ],
)
def test_parse_updates_is_tolerant(raw, expected):
    updates = parse_updates(raw, known_ids={"m1"})
    assert [u["text"] for u in updates] == expected
    assert all(u["replaces"] in (None, "m1") for u in updates)


def test_extract_memories_asks_the_model_with_the_prompt_file():
    model = ScriptedChatModel(script=['["对花生过敏", "名字叫小王"]'])
    facts = extract_memories(model, TURN, [{"id": "m0", "text": "喜欢绿茶"}], "zh")
    assert facts == ["对花生过敏", "名字叫小王"]
    system, human = model.seen[0]
    assert "JSON" in system.content and "[m0] 喜欢绿茶" in system.content
    assert "user: 我叫小王" in human.content and "assistant: 今天晴。" in human.content


def test_background_extraction_does_not_delay_and_stores_extracted(service):
    release = threading.Event()

    def held(messages):
        assert release.wait(30)  # the model answers only once submit() has returned
        return '["对花生过敏"]'

    extractor = MemoryExtractor(service, ScriptedChatModel(script=[held]), lang="zh")
    future = extractor.submit("alice", TURN, thread_id="t1", message_id="h1")
    assert future is not None and not future.done()  # the turn is not kept waiting
    release.set()
    extractor.wait(30)
    [item] = service.list("alice")
    assert (item["text"], item["kind"], item["source_thread"], item["source_message"]) == (
        "对花生过敏",
        "extracted",
        "t1",
        "h1",
    )
    extractor.close()


def test_contradiction_replaces_and_keeps_history(service):
    old = service.add("alice", "I live in Beijing")
    reply = json.dumps([{"text": "I live in Shanghai now", "replaces": old["id"]}])
    extractor = MemoryExtractor(service, ScriptedChatModel(script=[reply]), lang="en")
    stored = extractor.run("alice", [HumanMessage("I moved to Shanghai last week")], "t2")
    assert [s["id"] for s in stored] == [old["id"]]
    item = service.get("alice", old["id"])
    assert item["text"] == "I live in Shanghai now"
    assert [(h["text"], h["reason"]) for h in item["history"]] == [
        ("I live in Beijing", "contradicted")
    ]


@pytest.mark.parametrize("step", [RuntimeError("provider down"), "sorry, I cannot", "[1, 2]"])
def test_bad_model_output_stores_nothing_and_never_raises(service, step):
    extractor = MemoryExtractor(service, ScriptedChatModel(script=[step]))
    assert extractor.run("alice", TURN) == []
    assert service.list("alice") == []


def test_disabled_or_overloaded_extractor_skips(service):
    assert (
        MemoryExtractor(service, ScriptedChatModel(), enabled=False).submit("alice", TURN) is None
    )

    def blocked(messages):
        time.sleep(0.3)
        return "[]"

    extractor = MemoryExtractor(service, ScriptedChatModel(default=blocked), max_pending=1)
    assert extractor.submit("alice", TURN) is not None
    assert extractor.submit("alice", TURN) is None  # queue full: skipped, not piled up
    extractor.wait(5)
    extractor.close()
