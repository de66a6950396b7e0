"""Knowledge search with DashScope rerank and embeddings through the loopback fake: order, faults."""

from __future__ import annotations

import pytest

from agent_app.knowledge.rerank import RERANK_DEPTH
from agent_app.knowledge.service import KnowledgeService
from agent_app.knowledge.worker import ParserPool
from agent_app.settings import Settings
from tests.fakes import FakeDashScope, hang
from tests.fakes.dashscope_rerank import relevance

pytestmark = pytest.mark.integration
KEY = "sk-rerank-test"
TOPICS = [
    "退款申请需在签收后七日内提交",
    "退货运费由消费者承担",
    "退款在三至五个工作日内到账",
    "会员积分可以抵扣现金",
    "发票在确认收货后开具",
    "质量问题的退货运费由商家承担",
    "预售商品按页面时间发货",
    "偏远地区加收运费",
]
DOCS = [(f"政策{i}.txt", f"第{i}条：{topic}。".encode()) for i, topic in enumerate(TOPICS, 1)]


@pytest.fixture
def fake():
    with FakeDashScope(api_key=KEY, embedding_dim=64) as server:
        yield server


@pytest.fixture
def pool():
    workers = ParserPool(size=1)
    yield workers
    workers.close()


def open_kb(tmp_path, fake, pool, **overrides) -> KnowledgeService:
    import dashscope

    base = dashscope.base_http_api_url
    settings = Settings(
        data_dir=tmp_path / "data",
        dashscope_api_key=KEY,
        dashscope_http_base_url=fake.http_base_url,
        tools_dirs=str(tmp_path / "tools"),
        lang="en",
        **overrides,
    )
    service = KnowledgeService(settings, parsers=pool)
    dashscope.base_http_api_url = base  # the embedder sets it per process; tests leave it as found
    return service


def test_rerank_reorders_the_fused_hits_by_the_api_relevance(tmp_path, fake, pool):
    plain = open_kb(tmp_path / "a", fake, pool, embedding_provider="offline")
    ranked = open_kb(
        tmp_path / "b", fake, pool, embedding_provider="offline", rerank_model="gte-rerank-v2"
    )
    try:
        for kb in (plain, ranked):
            assert all(r.status == "ready" for r in kb.add_files(DOCS, "c"))
        query = "退货的运费谁出"
        fused = plain.search(query, ["c"], 3)
        hits = ranked.search(query, ["c"], 3)
        [req] = fake.rerank_requests
        assert req.body["model"] == "gte-rerank-v2"
        assert req.body["input"]["query"] == query
        sent = req.body["input"]["documents"]
        assert 3 <= len(sent) <= RERANK_DEPTH
        best = sorted(sent, key=lambda d: -relevance(query, d))[:3]
        assert [h["text"] for h in hits] == best
        assert [h["score"] for h in hits] == [relevance(query, d) for d in best]
        assert {h["chunk_id"] for h in fused} and all("notice" not in h for h in hits)
    finally:
        plain.close()
        ranked.close()


@pytest.mark.parametrize("failure", ["rate_limit", "timeout"])
def test_rerank_failure_keeps_the_fused_order(tmp_path, fake, pool, failure, monkeypatch):
    import agent_app.knowledge.rerank as rerank

    monkeypatch.setattr(rerank.DashScopeReranker, "__init__", _short_timeout(rerank))
    plain = open_kb(tmp_path / "a", fake, pool, embedding_provider="offline")
    ranked = open_kb(
        tmp_path / "b", fake, pool, embedding_provider="offline", rerank_model="qwen3-rerank"
    )
    try:
        for kb in (plain, ranked):
            kb.add_files(DOCS, "c")
        fake.push_rerank_fault(hang(2.0) if failure == "timeout" else "rate_limit")
        query = "退款多久到账"
        hits = ranked.search(query, ["c"], 3)
        assert len(fake.rerank_requests) == 1
        assert [h["chunk_id"] for h in hits] == [
            h["chunk_id"] for h in plain.search(query, ["c"], 3)
        ]
    finally:
        plain.close()
        ranked.close()


def _short_timeout(rerank):
    original = rerank.DashScopeReranker.__init__

    def init(self, api_key, model, base_url, timeout=8.0):
        original(self, api_key, model, base_url, timeout=0.5)

    return init


def test_embedding_outage_at_query_time_gives_keyword_results_with_a_notice(tmp_path, fake, pool):
    # 'auto' with a DashScope key: the knowledge base embeds with text-embedding-v4.
    kb = open_kb(tmp_path, fake, pool, embedding_provider="auto")
    try:
        assert kb.status()["embedder"] == "dashscope-text-embedding-v4"
        kb.add_files(DOCS, "c")
        assert all(len(r.body["input"]["texts"]) <= 10 for r in fake.embedding_requests)
        for _ in range(4):  # more than the client's retries: the provider stays down for this query
            fake.push_embedding_fault("rate_limit")
        hits = kb.search("退款多久到账", ["c"], 3)
        assert hits and "三至五个工作日" in hits[0]["text"]
        assert all(h["notice"] == "keyword_only" for h in hits)
        assert "notice" not in kb.search("退款多久到账", ["c"], 3)[0]  # the provider is back
    finally:
        kb.close()
