"""With a DashScope key and no explicit choice, memory and the KB embed with text-embedding-v4."""

from __future__ import annotations

import pytest

from agent_app.errors import AppError
from agent_app.knowledge.service import KnowledgeService
from agent_app.memory.service import MemoryService
from agent_app.settings import Settings
from agent_app.wiring import open_memory_store
from tests.fakes import FakeDashScope

pytestmark = pytest.mark.integration
CANARY = "sk-CANARY-0123456789"


@pytest.fixture
def fake(monkeypatch):
    import dashscope

    # The SDK keeps its endpoint in a module attribute: leave it as found for other tests.
    monkeypatch.setattr(dashscope, "base_http_api_url", dashscope.base_http_api_url)
    with FakeDashScope(api_key=CANARY) as server:
        yield server


def _settings(tmp_path, fake, **extra) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        provider="dashscope",
        dashscope_api_key=CANARY,
        dashscope_api_base=fake.base_url,
        tools_dirs="",
        _env_file=None,
        **extra,
    )


def test_a_key_makes_v4_the_default_for_memory_without_a_call_at_open(tmp_path, fake) -> None:
    store = open_memory_store(_settings(tmp_path, fake))
    try:
        assert (store.model, store.dims) == ("dashscope-text-embedding-v4", 1024)
        assert fake.embedding_requests == []  # opening asked the API nothing
        memories = MemoryService(store)
        for n in range(12):
            memories.add("u1", f"我的第{n}个爱好是收集邮票{n}")
        memories.add("u1", "我的车是 2021 年的比亚迪汉 EV")
        found = memories.search("u1", "我的比亚迪汉是哪一年的车？")
    finally:
        store.close()
    assert found and found[0]["text"] == "我的车是 2021 年的比亚迪汉 EV"
    requests = fake.embedding_requests
    assert {r.body["model"] for r in requests} == {"text-embedding-v4"}
    assert all(len(r.body["input"]["texts"]) <= 10 for r in requests)
    assert {r.body["parameters"]["dimension"] for r in requests} == {1024}


def test_a_key_makes_v4_the_default_for_the_knowledge_base(tmp_path, fake) -> None:
    kb = KnowledgeService(_settings(tmp_path, fake))
    try:
        [res] = kb.add_files([("退款.txt", "退款政策：签收后七日内可无理由退货。".encode())], "c")
        assert res.status == "ready"
        assert (
            kb.status()["embedder"] == kb.status()["indexed_with"] == "dashscope-text-embedding-v4"
        )
        assert kb.search("几天内可以退货", ["c"])[0]["source"] == "退款.txt"
    finally:
        kb.close()
    assert fake.embedding_requests and all(
        r.body["model"] == "text-embedding-v4" for r in fake.embedding_requests
    )


def test_an_explicit_choice_wins_over_the_key(tmp_path, fake) -> None:
    settings = _settings(tmp_path, fake, embedding_provider="offline")
    store = open_memory_store(settings)
    kb = KnowledgeService(settings)
    try:
        assert store.model == kb.status()["embedder"] == "offline-ngram-512"
    finally:
        store.close()
        kb.close()


def test_the_provider_failing_mid_write_or_mid_recall(tmp_path, fake) -> None:
    store = open_memory_store(_settings(tmp_path, fake))
    memories = MemoryService(store)
    try:
        memories.add("u1", "我对花生过敏")
        fake.push_embedding_fault("auth")
        with pytest.raises(AppError) as exc:
            memories.add("u1", "我的车是比亚迪汉")
        assert "没有保存" in exc.value.user_message("zh") and CANARY not in str(exc.value)
        assert [m["text"] for m in memories.list("u1")] == ["我对花生过敏"]  # nothing half-written
        fake.push_embedding_fault("auth")
        found = memories.search("u1", "我对什么过敏？")  # recall: the lexical side answers alone
        assert [m["text"] for m in found] == ["我对花生过敏"]
    finally:
        store.close()


def test_a_chosen_ollama_model_embeds_memory_and_the_knowledge_base(tmp_path) -> None:
    from tests.fakes import FakeOllama

    with FakeOllama() as fake:
        settings = Settings(
            data_dir=tmp_path / "data",
            provider="offline",
            embedding_provider="ollama",
            ollama_host=fake.base_url,
            tools_dirs="",
            _env_file=None,
        )
        store = open_memory_store(settings)
        kb = KnowledgeService(settings)
        try:
            assert store.dims == 1024 and "qwen3-embedding:0.6b" in store.model
            MemoryService(store).add("u1", "我对花生过敏")
            assert [m["text"] for m in MemoryService(store).search("u1", "我对什么过敏？")] == [
                "我对花生过敏"
            ]
            kb.add_files([("退款.txt", "退款政策：签收后七日内可无理由退货。".encode())], "c")
            assert kb.status()["embedder"] == "ollama-qwen3-embedding:0.6b"
            assert not kb.needs_reindex()
            assert kb.search("几天内可以退货", ["c"])[0]["source"] == "退款.txt"
        finally:
            store.close()
            kb.close()
        embeds = fake.requests_to("/api/embed")
        assert embeds and all(r.body["model"] == "qwen3-embedding:0.6b" for r in embeds)


def test_a_turn_whose_recall_embedding_fails_says_so_and_still_recalls(tmp_path, fake) -> None:
    from agent_app import events as ev
    from agent_app.wiring import open_service
    from tests.fakes import text

    svc = open_service(_settings(tmp_path, fake, max_retries=0), tools=[])
    try:
        user = svc.settings.user
        svc.memory.add(user, "我对花生过敏")
        thread = svc.new_thread(user).id
        fake.push(text("那就别吃花生酱。"))
        fake.push_embedding_fault("auth")  # the recall's query embedding
        events = list(svc.stream(thread, "我对什么过敏？", user_id=user, lang="en"))
        assert events[-1].type == "done", events
        used = [e for e in events if isinstance(e, ev.MemoryUsed)]
        assert used and used[0].items[0]["text"] == "我对花生过敏"  # the lexical side answered
        notices = [e.message for e in events if isinstance(e, ev.Notice)]
        assert any("keywords" in n for n in notices), notices
        assert CANARY not in " ".join(notices)
    finally:
        svc.close()
