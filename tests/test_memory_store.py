"""SqliteFaissStore: the LangGraph BaseStore contract, persistence, failures, and use by create_agent."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import random
import signal
import sqlite3
import time

import pytest
from langchain.agents import create_agent
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp

from agent_app.agent.context import AgentContext
from agent_app.errors import ProviderUnavailableError
from agent_app.memory.service import MemoryService, memory_namespace
from agent_app.memory.store import SqliteFaissStore
from agent_app.memory.tools import MEMORY_TOOLS
from agent_app.providers.offline_embed import OfflineEmbedder
from agent_app.vectors import EmbeddingMismatchError
from tests.scripted_model import ScriptedChatModel, call

CTX = mp.get_context("spawn")


@pytest.fixture
def store(tmp_path):
    s = SqliteFaissStore(
        tmp_path / "memory.sqlite", OfflineEmbedder(), index_fields=("text",), background=False
    )
    yield s
    s.close()


@pytest.mark.unit
def test_put_get_update_delete(store):
    ns = ("alice", "memories")
    store.put(ns, "k1", {"text": "我对花生过敏", "kind": "manual"})
    first = store.get(ns, "k1")
    assert first.value == {"text": "我对花生过敏", "kind": "manual"} and first.namespace == ns
    time.sleep(0.002)
    store.put(ns, "k1", {"text": "我对花生和芝麻过敏"})
    second = store.get(ns, "k1")
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    assert [i.key for i in store.search(ns, query="芝麻")] == ["k1"]
    store.delete(ns, "k1")
    assert store.get(ns, "k1") is None and store.search(ns, query="芝麻") == []
    assert store.index.count() == 0  # the vector went with the row


@pytest.mark.unit
def test_search_namespaces_filters_and_paging(store):
    for i in range(6):
        store.put(
            ("a", "memories"),
            f"m{i}",
            {
                "text": f"fact number {i} about tea",
                "n": i,
                "kind": "manual" if i % 2 else "extracted",
            },
        )
    store.put(("a", "memories", "sub"), "deep", {"text": "tea in a sub namespace", "n": 9})
    store.put(("ab", "memories"), "other", {"text": "tea of another user", "n": 1})
    listed = store.search(("a", "memories"), limit=3)
    assert [i.key for i in listed] == ["deep", "m5", "m4"]  # prefix includes children; newest first
    assert [i.key for i in store.search(("a", "memories"), limit=3, offset=3)] == ["m3", "m2", "m1"]
    keys = {i.key for i in store.search(("a",), query="tea", limit=50)}
    assert "other" not in keys and len(keys) == 7  # "a" never matches "ab"
    assert {i.key for i in store.search(("a", "memories"), filter={"kind": "extracted"})} == {
        "m0",
        "m2",
        "m4",
    }
    found = store.search(("a", "memories"), query="tea", filter={"n": {"$gte": 4}}, limit=10)
    assert {i.key for i in found} == {"m4", "m5", "deep"} and all(
        i.score is not None for i in found
    )
    assert [i.key for i in store.search((), query="another user", limit=1)] == ["other"]


@pytest.mark.unit
def test_list_namespaces(store):
    for ns in [("u1", "memories"), ("u2", "memories"), ("u2", "notes", "x"), ("docs", "v1")]:
        store.put(ns, "k", {"text": "x"})
    assert store.list_namespaces() == sorted(
        [("u1", "memories"), ("u2", "memories"), ("u2", "notes", "x"), ("docs", "v1")]
    )
    assert store.list_namespaces(prefix=("u2",)) == [("u2", "memories"), ("u2", "notes", "x")]
    assert store.list_namespaces(suffix=("memories",)) == [("u1", "memories"), ("u2", "memories")]
    assert store.list_namespaces(prefix=("*", "notes")) == [("u2", "notes", "x")]
    assert store.list_namespaces(max_depth=1) == [("docs",), ("u1",), ("u2",)]
    assert store.list_namespaces(limit=1, offset=1) == [("u1", "memories")]


@pytest.mark.unit
def test_batch_semantics_unindexed_items_async_and_validation(store):
    ns = ("u", "memories")
    results = store.batch(
        [
            PutOp(ns, "a", {"text": "one"}),
            GetOp(ns, "a"),
            PutOp(ns, "b", {"text": "not embedded"}, index=False),
        ]
    )
    assert results == [None, None, None]  # reads see the state before the batch's writes
    assert store.get(ns, "a") is not None and store.index.count() == 1
    assert sorted(i.key for i in store.search(ns)) == ["a", "b"]  # listed, though not embedded
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("x.y", "memories"), "k", {"text": "t"})])

    async def go():
        await store.aput(ns, "c", {"text": "async tea"})
        return await store.asearch(ns, query="async tea", limit=1)

    assert [i.key for i in asyncio.run(go())] == ["c"]


@pytest.mark.unit
def test_failing_embedder_leaves_nothing_half_written(tmp_path):
    class Flaky(OfflineEmbedder):
        fail = False

        def embed_array(self, texts):
            if self.fail:
                raise ConnectionError("embedding API timed out")
            return super().embed_array(texts)

    embedder = Flaky()
    store = SqliteFaissStore(tmp_path / "m.sqlite", embedder, background=False)
    store.put(("u", "memories"), "ok", {"text": "kept"})
    embedder.fail = True
    with pytest.raises(ProviderUnavailableError) as exc:  # the provider's error, named for users
        store.batch(
            [
                PutOp(("u", "memories"), "new", {"text": "lost"}),
                PutOp(("u", "memories"), "ok", {"text": "changed"}),
            ]
        )
    assert isinstance(exc.value.__cause__, ConnectionError)
    assert store.get(("u", "memories"), "new") is None
    assert store.get(("u", "memories"), "ok").value == {"text": "kept"}
    assert store.index.count() == 1
    conn = sqlite3.connect(tmp_path / "m.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM memory_items").fetchone()[0] == 1
    store.close()


@pytest.mark.unit
def test_persistence_and_embedder_change(tmp_path):
    path = tmp_path / "m.sqlite"
    store = SqliteFaissStore(path, OfflineEmbedder(), index_fields=("text",), background=False)
    store.put(("u", "memories"), "k", {"text": "喜欢绿茶 \ud800 lone"})
    store.close()
    again = SqliteFaissStore(path, OfflineEmbedder(), index_fields=("text",), background=False)
    assert again.get(("u", "memories"), "k").value["text"] == "喜欢绿茶 \ud800 lone"
    assert [i.key for i in again.search(("u", "memories"), query="绿茶")] == ["k"]
    again.close()
    with pytest.raises(EmbeddingMismatchError):
        SqliteFaissStore(path, OfflineEmbedder(dim=256))
    changed = SqliteFaissStore(
        path, OfflineEmbedder(dim=256), reembed_on_change=True, background=False
    )
    assert changed.index.dim == 256
    assert [i.key for i in changed.search(("u", "memories"), query="绿茶")] == ["k"]
    changed.close()


@pytest.mark.integration
def test_postgres_store_reembeds_when_the_embedder_changes(pg_url):
    from agent_app.memory.pg_store import open_pg_memory_store

    ns = memory_namespace("alice")
    first = open_pg_memory_store(pg_url, OfflineEmbedder())
    MemoryService(first).add("alice", "我喜欢喝绿茶")
    first.close()
    changed = open_pg_memory_store(pg_url, OfflineEmbedder(dim=256))  # another size and name
    try:
        [hit] = changed.search(ns, query="绿茶", limit=1)  # pgvector: the new size only
        assert hit.value["text"] == "我喜欢喝绿茶" and hit.score is not None and hit.score > 0.3
        svc = MemoryService(changed)
        svc.add("alice", "我住在杭州")  # a write embeds at the new size
        assert [m["text"] for m in svc.search("alice", "我喜欢喝什么茶", 1)] == ["我喜欢喝绿茶"]
    finally:
        changed.close()
    again = open_pg_memory_store(pg_url, OfflineEmbedder(dim=256))  # same embedder: nothing redone
    try:
        assert len(again.search(ns, query="杭州", limit=5)) == 2
    finally:
        again.close()


@pytest.mark.integration
def test_agent_remembers_through_the_runtime_and_users_stay_apart(store):
    remember = call("remember", {"text": "我对花生过敏"})
    model = ScriptedChatModel(script=[remember, "好的，我记住了。"])
    agent = create_agent(model, tools=MEMORY_TOOLS, store=store, context_schema=AgentContext)
    config = {"configurable": {"thread_id": "t-1"}}
    agent.invoke(
        {"messages": [{"role": "user", "content": "记住：我对花生过敏"}]},
        context=AgentContext(user_id="alice"),
        config=config,
    )
    [item] = MemoryService(store).list("alice")
    assert (
        item["text"] == "我对花生过敏" and item["source_thread"] == "t-1" and item["source_message"]
    )
    # A new conversation days later: recall finds it for alice only.
    for user, expect in (("alice", True), ("bob", False)):
        model = ScriptedChatModel(script=[call("recall", {"query": "花生过敏"}), "ok"])
        agent = create_agent(model, tools=MEMORY_TOOLS, store=store, context_schema=AgentContext)
        out = agent.invoke(
            {"messages": [{"role": "user", "content": "我能吃花生吗？"}]},
            context=AgentContext(user_id=user),
            config={"configurable": {"thread_id": f"t-{user}"}},
        )
        tool_text = out["messages"][2].content
        assert (item["id"] in tool_text) is expect
    # bob's model is told alice's id: forget must not reach across users (B13, D8).
    model = ScriptedChatModel(script=[call("forget", {"memory_id": item["id"]}), "done"])
    agent = create_agent(model, tools=MEMORY_TOOLS, store=store, context_schema=AgentContext)
    out = agent.invoke(
        {"messages": [{"role": "user", "content": "forget it"}]},
        context=AgentContext(user_id="bob"),
        config={"configurable": {"thread_id": "t-b2"}},
    )
    assert out["messages"][2].content.startswith("Error:")
    assert store.get(memory_namespace("alice"), item["id"]) is not None


def _add_memories_and_snapshot(path: str, ready) -> None:
    store = SqliteFaissStore(path, OfflineEmbedder(), index_fields=("text",), background=False)
    service, i = MemoryService(store), 0
    store.index.snapshot(force=True)
    while True:
        service.add("alice", f"fact {i}: the user likes item {i * 7919 % 104729}")
        store.index.snapshot(force=True)
        ready.set()  # after the first add: the segmenter's one-time load is not what is tested
        i += 1


@pytest.mark.integration
@pytest.mark.slow
def test_kill_9_while_adding_memories_loses_no_committed_memory(tmp_path):
    path, rng = str(tmp_path / "m.sqlite"), random.Random(3)
    for _ in range(2):
        ready = CTX.Event()
        child = CTX.Process(target=_add_memories_and_snapshot, args=(path, ready))
        child.start()
        assert ready.wait(60)
        time.sleep(rng.uniform(0.2, 0.8))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        store = SqliteFaissStore(path, OfflineEmbedder(), index_fields=("text",), background=False)
        items = MemoryService(store).export("alice")
        assert items and store.index.count() == len(items)
        for item in rng.sample(items, min(5, len(items))):
            assert MemoryService(store).search("alice", item["text"], 1)[0]["id"] == item["id"]
        store.close()
