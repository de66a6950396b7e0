"""The knowledge base on DashScope text-embedding-v4 through the loopback fake (real client)."""

from __future__ import annotations

import pytest

from agent_app.knowledge.service import KnowledgeService
from agent_app.knowledge.worker import ParserPool
from agent_app.settings import Settings
from tests.fakes import FakeDashScope

pytestmark = pytest.mark.integration
CANARY = "sk-CANARY-0123456789"


@pytest.fixture
def dashscope_kb(tmp_path, monkeypatch):
    import dashscope

    monkeypatch.setattr(dashscope, "base_http_api_url", dashscope.base_http_api_url)
    pool = ParserPool(size=1)
    with FakeDashScope(api_key=CANARY, embedding_dim=256) as fake:
        settings = Settings(
            data_dir=tmp_path / "data",
            embedding_provider="dashscope",
            dashscope_api_key=CANARY,
            dashscope_http_base_url=fake.http_base_url,
            tools_dirs=str(tmp_path / "tools"),
            lang="en",
        )
        service = KnowledgeService(settings, parsers=pool)
        yield service, fake
        service.close()
    pool.close()


def test_embeds_with_v4_in_batches_of_ten_and_keeps_the_key_out(dashscope_kb, tmp_path) -> None:
    service, fake = dashscope_kb
    text = "。".join(f"第{i}条：退款申请需在签收后七日内提交，并附订单号{i}" for i in range(120))
    [result] = service.add_files([("长文.txt", text.encode())], "c")
    assert result.status == "ready" and result.chunks > 10
    requests = fake.embedding_requests
    assert len(requests) >= 2
    assert all(r.body["model"] == "text-embedding-v4" for r in requests)
    assert all(len(r.body["input"]["texts"]) <= 10 for r in requests)
    assert service.status() == {
        "embedder": "dashscope-text-embedding-v4",
        "indexed_with": "dashscope-text-embedding-v4",
        "needs_reindex": False,
    }
    assert service.search("订单号7 退款申请", ["c"])[0]["source"] == "长文.txt"
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path.name


def test_a_provider_error_leaves_nothing_half_indexed(dashscope_kb) -> None:
    service, fake = dashscope_kb
    fake.push_embedding_fault("auth")
    [failed] = service.add_files([("a.txt", "退款政策：七日内可退。".encode())], "c")
    assert (failed.status, failed.code) == ("failed", "embed_failed")
    assert CANARY not in failed.reason
    conn = service.store.conn
    assert conn.execute("SELECT COUNT(*) FROM kb_chunks").fetchone()[0] == 0
    [retry] = service.add_files([("a.txt", "退款政策：七日内可退。".encode())], "c")
    assert retry.status == "ready"
