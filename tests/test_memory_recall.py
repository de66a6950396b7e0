"""Memory recall quality rules: hybrid ranking, the calibrated floor, isolation, faults and odd input."""

from __future__ import annotations

import pytest

from agent_app.errors import ProviderUnavailableError
from agent_app.memory.service import MemoryService, memory_namespace
from agent_app.memory.store import SqliteFaissStore
from agent_app.memory.tools import recall_for_prompt
from agent_app.providers.offline_embed import OfflineEmbedder
from agent_app.settings import Settings

pytestmark = pytest.mark.unit

ALICE = [
    "我的车是 2021 年的比亚迪汉 EV",
    "我对花生和腰果过敏",
    "我住在杭州市西湖区文三路附近",
    "我女儿叫小雨，今年上小学三年级",
    "My wife works as an architect in Shanghai.",
    "I'm learning to cook Thai food.",
]
BOB = ["我的车是特斯拉 Model 3", "我对海鲜过敏", "My wife is a doctor in Beijing."]


class FlakyEmbedder(OfflineEmbedder):
    """Embeds documents; fails every query once `down` is set (a provider outage at recall)."""

    down = False
    calls = 0

    def embed_array(self, texts: list[str]):
        self.calls += 1
        if self.down:
            raise TimeoutError("embedding endpoint timed out")
        return super().embed_array(texts)


@pytest.fixture
def embedder():
    return FlakyEmbedder()


@pytest.fixture
def service(tmp_path, embedder, backend):
    """The memory service on SQLite + FAISS, or on PostgreSQL (PostgresStore + pgvector)."""
    if backend == "sqlite":
        store = SqliteFaissStore(
            tmp_path / "m.sqlite", embedder, index_fields=("text",), background=False
        )
    else:
        from agent_app.memory.pg_store import open_pg_memory_store

        store = open_pg_memory_store(backend, embedder)
    svc = MemoryService(store)
    for text in ALICE:
        svc.add("alice", text)
    for text in BOB:
        svc.add("bob", text)
    yield svc
    store.close()


def texts(items):
    return [it["text"] for it in items]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("我的比亚迪是哪年买的", ALICE[0]),
        ("我吃花生会有问题吗", ALICE[1]),
        ("我女儿读几年级了？", ALICE[3]),
        ("Where does my wife work?", ALICE[4]),
    ],
)
def test_paraphrase_finds_the_memory_first_and_never_another_users(service, question, expected):
    found = service.search("alice", question, 3)
    assert texts(found)[:1] == [expected]
    assert not set(texts(found)) & set(BOB)
    assert all(0.0 < it["score"] <= 1.0 for it in found)


@pytest.mark.parametrize(
    "question",
    ["今天天气怎么样？", "How do vaccines work?", "What is machine learning?", "解释一下量子纠缠"],
)
def test_unrelated_message_recalls_nothing_into_the_prompt(service, question):
    store = service.store
    assert service.search("alice", question, 5) == []
    # The path the agent uses, with the app's default extra bar.
    assert recall_for_prompt(store, "alice", question, 5, Settings().recall_min_score) == (
        [],
        False,
    )


def test_vector_search_alone_still_ranks_every_item_for_the_store_contract(service):
    # The BaseStore search keeps LangGraph's semantics (every item, cosine scores); only the
    # service's recall is gated.
    items = service.store.search(memory_namespace("alice"), query="How do vaccines work?", limit=10)
    assert len(items) == len(ALICE)


def test_suggested_memories_are_not_recalled(service):
    ns = memory_namespace("alice")
    service.store.put(ns, "planted", {"text": "我的车是红色的保时捷", "status": "suggested"})
    found = service.search("alice", "我的车是什么颜色", 5, confirmed_only=True)
    assert "planted" not in [it["id"] for it in found]
    assert found and texts(found)[0] == ALICE[0]


def test_embedder_outage_at_recall_falls_back_to_lexical(service, embedder):
    embedder.down = True
    found = service.search("alice", "我吃花生会有问题吗", 3)
    assert texts(found)[:1] == [ALICE[1]]
    # A write needs its vector: it fails whole with a clear message, nothing half-written.
    with pytest.raises(ProviderUnavailableError) as exc:
        service.add("alice", "我喜欢喝燕麦拿铁")
    assert isinstance(exc.value.__cause__, TimeoutError) and exc.value.user_message("en")
    embedder.down = False
    assert "我喜欢喝燕麦拿铁" not in texts(service.list("alice"))


@pytest.mark.parametrize(
    "query",
    ["", "   ", "😀🎉👩‍👩‍👧‍👦", "مرحبا بالعالم", "नमस्ते", "我" * 1_000_000, "花生" * 500_000],
)
def test_odd_queries_give_sane_results(service, query):
    found = service.search("alice", query, 3)
    assert isinstance(found, list) and len(found) <= 3
    assert not set(texts(found)) & set(BOB)


def test_edit_and_delete_reach_the_lexical_side(service):
    peanut = next(it for it in service.list("alice") if "花生" in it["text"])
    service.update("alice", peanut["id"], "我对芒果过敏")
    assert texts(service.search("alice", "我对芒果过敏吗", 3))[:1] == ["我对芒果过敏"]
    assert "我对花生和腰果过敏" not in texts(service.search("alice", "我吃花生会有问题吗", 3))
    service.delete("alice", peanut["id"])
    assert service.search("alice", "我对芒果过敏吗", 3) == []


def test_a_second_process_sees_writes_through_the_generation_counter(tmp_path):
    path = tmp_path / "shared.sqlite"
    first = SqliteFaissStore(path, OfflineEmbedder(), index_fields=("text",), background=False)
    second = SqliteFaissStore(path, OfflineEmbedder(), index_fields=("text",), background=False)
    try:
        a, b = MemoryService(first), MemoryService(second)
        a.add("alice", "我养了一只叫布丁的橘猫")
        assert texts(b.search("alice", "我的猫叫什么名字", 3)) == ["我养了一只叫布丁的橘猫"]
        a.add("alice", "我每周二晚上去游泳")  # b's cached postings for alice are now stale
        assert texts(b.search("alice", "我什么时候去游泳", 3))[:1] == ["我每周二晚上去游泳"]
    finally:
        first.close()
        second.close()


def test_items_from_before_the_lexical_side_are_indexed_on_open(tmp_path):
    path = tmp_path / "old.sqlite"
    store = SqliteFaissStore(path, OfflineEmbedder(), index_fields=("text",), background=False)
    MemoryService(store).add("alice", "我老家在四川绵阳")
    store._conn().execute("DROP TABLE memory_lex")  # as a database written by the old code
    store.close()
    again = SqliteFaissStore(path, OfflineEmbedder(), index_fields=("text",), background=False)
    try:
        found = MemoryService(again).search("alice", "我是四川哪里人", 3)
        assert texts(found) == ["我老家在四川绵阳"]
    finally:
        again.close()


def test_a_user_without_memories_costs_no_embedding_at_recall(service, embedder):
    # Every turn recalls; a user who has no memories must not pay a query embedding (nor, on
    # PostgreSQL, the segmenter's first load: seconds on a fresh process).
    before = embedder.calls
    assert service.search("carol", "我的车是什么牌子？", 5) == []
    assert service.recall("carol", "What does my wife do?", 5) == ([], False)
    assert embedder.calls == before
    assert service.search("alice", "我的车是什么牌子？", 5) and embedder.calls > before


class CompassEmbedder(OfflineEmbedder):
    """Texts as set directions: every other user's memory lies nearer the question than the asker's."""

    def __init__(self) -> None:
        super().__init__(dim=16)
        self.name = "compass-test"  # a semantic embedder's calibration: its cosine leads

    def embed_array(self, texts: list[str]):
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, 0] = 1.0  # the question's direction
            if text.startswith("mine"):
                out[row, 1] = 0.5  # cosine 0.89 with the question
            elif text.startswith("theirs"):
                out[row, 2 + int(text.split()[-1]) % 14] = 0.1  # cosine 0.995
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_the_askers_memory_is_found_however_many_users_hold_nearer_ones(tmp_path, backend):
    """The vector side searches the asker's memories, not the nearest of everyone's then a filter.

    With 100 other users each holding memories nearer the question, an index over every user's
    vectors returns only theirs (pgvector's HNSW gives its 40 nearest, then the user filter).
    """
    embedder = CompassEmbedder()
    if backend == "sqlite":
        store = SqliteFaissStore(
            tmp_path / "m.sqlite", embedder, index_fields=("text",), background=False
        )
    else:
        from agent_app.memory.pg_store import bulk_load, open_pg_memory_store
        from agent_app.storage.pg import with_options

        # At 100,000 memories the planner orders by the HNSW index on its own; at this size it
        # would sort instead, unless told that sorting is dear.
        store = open_pg_memory_store(with_options(backend, "-c enable_sort=off"), embedder)
    from langgraph.store.base import PutOp

    ops = [PutOp(memory_namespace(f"user{u}"), f"k{u}-{i}", {"text": f"theirs {u * 20 + i}"})
           for u in range(100) for i in range(20)]  # fmt: skip
    if backend == "sqlite":
        store.batch(ops)
    else:
        with bulk_load(store):  # the HNSW index the old query chose, built over all of them
            store.batch(ops)
    svc = MemoryService(store)
    mine = svc.add("carol", "mine: the tea I like")
    try:
        found = svc.search("carol", "question", 3)
        assert [it["id"] for it in found] == [mine["id"]]
        assert found[0]["score"] > 0.5
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_bulk_load_killed_midway_gets_its_vector_index_back_at_the_next_open(backend):
    import psycopg

    from agent_app.memory.pg_store import VECTOR_INDEX, open_pg_memory_store

    store = open_pg_memory_store(backend, OfflineEmbedder())
    MemoryService(store).add("alice", "我对花生过敏")
    with psycopg.connect(backend, autocommit=True) as conn:  # what a killed `bulk_load` leaves
        conn.execute(f"DROP INDEX {VECTOR_INDEX}")
    store.close()
    again = open_pg_memory_store(backend, OfflineEmbedder())
    try:
        with psycopg.connect(backend) as conn:
            row = conn.execute(
                "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(%s)",
                (VECTOR_INDEX,),
            ).fetchone()
        assert row == (True,)
        assert texts(MemoryService(again).search("alice", "我能吃花生吗", 3)) == ["我对花生过敏"]
    finally:
        again.close()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("dim", [512, 1800])
def test_vectors_stay_in_their_row_when_they_fit_a_page(backend, dim):
    """Recall scans a user's vectors: TOASTed ones cost a fetch each; 8 KB ones cannot be inline."""
    import psycopg

    from agent_app.memory.pg_store import open_pg_memory_store

    store = open_pg_memory_store(backend, OfflineEmbedder(dim=dim))
    try:
        svc = MemoryService(store)
        svc.add("alice", "我对花生过敏")
        assert texts(svc.search("alice", "我能吃花生吗", 3)) == ["我对花生过敏"]
        with psycopg.connect(backend) as conn:
            storage = conn.execute(
                "SELECT attstorage FROM pg_attribute WHERE attrelid = to_regclass('store_vectors')"
                " AND attname = 'embedding'"
            ).fetchone()[0]
        assert (storage == "p") is (dim <= 1536)
    finally:
        store.close()
