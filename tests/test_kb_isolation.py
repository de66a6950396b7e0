"""One user's knowledge-base search never returns another user's chunks, on any path (RELIABILITY J1)."""

from __future__ import annotations

import pytest
from langchain.tools import ToolRuntime

from agent_app.agent.context import AgentContext
from agent_app.knowledge.search import HybridSearcher
from agent_app.knowledge.tool import search_knowledge_tool
from agent_app.knowledge.worker import ParserPool
from tests.kb_eval.helpers import make_service, url_of
from tests.kb_eval.race import run_race

pytestmark = pytest.mark.integration
ALICE_TEXT = "爱丽丝的会议记录：周一讨论预算。"
BOB_TEXT = "鲍勃的工资单：月薪三万，奖金五千。工资单每月十日发放。"
QUERY = "工资单 月薪 奖金"


@pytest.fixture(scope="module")
def pool():
    p = ParserPool(size=2)
    yield p
    p.close()


@pytest.fixture
def svc(tmp_path, pool, backend):
    service = make_service(tmp_path / "data", pool, database_url=url_of(backend))
    yield service
    service.close()


def test_search_after_another_user_uploads_returns_none_of_theirs(svc) -> None:
    alice, bob = svc.for_user("alice"), svc.for_user("bob")
    alice.add_files([("notes.txt", ALICE_TEXT.encode())], "docs")
    tool = search_knowledge_tool(svc)
    runtime = ToolRuntime(
        state={},
        context=AgentContext(user_id="alice"),
        config={},
        stream_writer=lambda _: None,
        tool_call_id="c1",
        store=None,
    )
    # Alice searches first: the vector index is open and its counts cached in this process.
    assert all(h["source"] == "notes.txt" for h in alice.search(QUERY))
    # Bob owns data under the very same collection and file name.
    [result] = bob.add_files([("notes.txt", BOB_TEXT.encode())], "docs")
    assert result.status == "ready"
    for hits in (alice.search(QUERY), alice.search(QUERY, ["docs"]), tool.func(QUERY, runtime)[1]):
        assert all("鲍勃" not in h["text"] for h in hits), hits
    assert bob.search(QUERY)[0]["text"].startswith("鲍勃")  # the query does find Bob's chunk


def test_every_retrieval_path_filters_by_collection(svc) -> None:
    alice, bob = svc.for_user("alice"), svc.for_user("bob")
    alice.add_files([("a.txt", ALICE_TEXT.encode())], "docs")
    alice.search(QUERY)
    bob.add_files([("b.txt", BOB_TEXT.encode())], "docs")
    allowed = [c["id"] for c in alice.list_collections()]
    bob_chunks = {
        r[0]
        for r in svc.store.conn.execute(
            "SELECT id FROM kb_chunks WHERE text LIKE '鲍勃%'"
        ).fetchall()
    }
    assert bob_chunks
    searcher = HybridSearcher(svc.store, svc.vectors, svc.embedder)
    assert not bob_chunks & set(searcher.semantic(QUERY, allowed, 50))
    assert not bob_chunks & set(searcher.keyword(QUERY, allowed, 50))
    assert svc.store.chunks_by_ids(sorted(bob_chunks), allowed) == {}
    # A caller that wrongly claims its collections cover the whole KB still gets only its own.
    hits = searcher.search(QUERY, allowed, 10, covers_all=True)
    assert all("鲍勃" not in h["text"] for h in hits), hits


def test_uploads_racing_searches_leak_nothing(svc) -> None:
    report = run_race(svc, seconds=4.0)
    assert report["searches"] > 20 and report["uploads"] > 3
    assert report["errors"] == [] and report["leaks"] == 0, report
