"""Small knowledge-base defects: BOM-less UTF-16, the same bytes under an unsupported name."""

from __future__ import annotations

import pytest

from agent_app.knowledge.parsers import decode_text
from agent_app.knowledge.worker import ParserPool
from tests.kb_eval.helpers import make_service

pytestmark = pytest.mark.integration
MIXED = (
    "Refund policy v2 (2024-05): 退款政策——自签收之日起 7 日内，商品完好可申请无理由退货；"
    "运费 (shipping) 由买家承担。Contact: service@example.com, tel 400-800-1234.\n"
) * 20


@pytest.fixture(scope="module")
def pool():
    p = ParserPool(size=1)
    yield p
    p.close()


@pytest.fixture
def svc(tmp_path, pool):
    service = make_service(tmp_path / "data", pool)
    yield service
    service.close()


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_with_mixed_text_is_decoded_not_garbage(svc, codec: str) -> None:
    [result] = svc.add_files([("policy.txt", MIXED.encode(codec))], "c")
    assert result.status == "ready", result
    chunks = svc.preview_chunks("policy.txt", "c")
    text = "".join(c["text"] for c in chunks)
    assert "\ufffd" not in text and "退款政策——自签收之日起 7 日内" in text
    assert svc.search("无理由退货 运费", ["c"])[0]["source"] == "policy.txt"


@pytest.mark.parametrize("codec", ["utf-8", "gbk", "utf-16-le", "utf-16-be"])
def test_decoding_picks_the_real_encoding(codec: str) -> None:
    assert decode_text(MIXED.encode(codec)).rstrip() == MIXED.rstrip()


def test_same_content_under_an_unsupported_name_is_refused_not_unchanged(svc) -> None:
    body = "退款政策：七日内可退。".encode()
    assert svc.add_files([("a.txt", body)], "c")[0].status == "ready"
    [again] = svc.add_files([("a.exe", body)], "c")
    assert again.status == "failed" and again.code == "unsupported_type", again
    assert ".exe" in (again.reason or "")
    docs = {d["name"]: d["status"] for d in svc.list_documents("c")}
    assert docs == {"a.txt": "ready", "a.exe": "failed"}
