"""The Knowledge page names the embedder in use and re-embeds in one click after a change."""

from __future__ import annotations

import pytest

from agent_app.knowledge.embedders import OfflineKBEmbedder
from agent_app.wiring import open_service
from tests.kb_eval.helpers import FlakyEmbedder
from tests.test_ui_apptest import _button, _page, _texts

pytestmark = pytest.mark.integration
REFUND = "退款政策：自签收之日起七日内，商品完好的可申请无理由退货。"


@pytest.fixture
def svc(settings):
    """The app on the offline embedder, so the tests can switch to another of known name."""
    service = open_service(settings.with_overrides(embedding_provider="offline"), tools=[])
    kb = service.knowledge_for(service.settings.user)
    assert kb.add_files([("refund.txt", REFUND.encode())], "docs")[0].status == "ready"
    yield service
    service.close()


def _switch(svc, embedder) -> None:
    """The configured embedder changes (as after editing the settings and restarting)."""
    svc.knowledge._shared["embedder"] = embedder


def test_the_page_names_the_embedder_and_offers_no_reembed_when_it_matches(svc) -> None:
    at = _page(svc, "knowledge")
    assert not at.exception
    assert "offline-ngram-512" in _texts(at)
    assert not [b for b in at.button if b.key == "kb_reindex"]


def test_a_changed_embedder_is_reembedded_in_one_click(svc) -> None:
    _switch(svc, OfflineKBEmbedder(dim=256))
    at = _page(svc, "knowledge")
    text = _texts(at)
    assert "offline-ngram-512 → offline-ngram-256" in text
    _button(at, "kb_reindex").click().run()
    assert not at.exception
    assert "Re-embedded 1 chunks" in _texts(at)
    kb = svc.knowledge_for(svc.settings.user)
    assert kb.status() == {
        "embedder": "offline-ngram-256",
        "indexed_with": "offline-ngram-256",
        "needs_reindex": False,
    }
    assert not [b for b in at.run().button if b.key == "kb_reindex"]


def test_a_provider_failing_during_the_reembed_shows_a_message_and_changes_nothing(svc) -> None:
    flaky = FlakyEmbedder(fail_at=1)  # a provider answering 429 on the first batch
    flaky.name = "flaky-provider"
    _switch(svc, flaky)
    kb = svc.knowledge_for(svc.settings.user)
    at = _page(svc, "knowledge", lang="zh")
    _button(at, "kb_reindex").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "重新生成向量失败" in errors and "Traceback" not in errors
    status = kb.status()
    assert status["needs_reindex"] and status["indexed_with"] == "offline-ngram-512"
    assert kb.search("退款政策", ["docs"])[0]["source"] == "refund.txt"  # keywords still serve
