"""Context expansion of knowledge-base hits: a sentence cut at a page break, the size bounds."""

from __future__ import annotations

import pytest

from agent_app.knowledge.context import MAX_NEIGHBOUR_CHARS, MAX_TOTAL_CHARS
from agent_app.knowledge.tool import format_hits
from agent_app.knowledge.worker import ParserPool
from tests.kb_eval.helpers import make_service
from tests.kb_eval.pdfgen import make_pdf

pytestmark = pytest.mark.integration


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


def test_a_sentence_cut_by_a_page_break_reads_on_and_cites_both_pages(svc) -> None:
    pages = [
        "第一章 总则\n本制度适用于全体员工。",
        "第二章 加班\n员工因工作需要在休息日加班的，公司优先安排同等时长的调休，无法安排调休的，",
        "按照日工资的百分之二百支付加班费。\n第三章 附则\n本制度自发布之日起施行。",
    ]
    svc.add_files([("加班制度.pdf", make_pdf(pages))], "hr")
    plain = svc.search("休息日加班 调休", ["hr"], 1)
    assert plain[0]["page"] == 2 and "百分之二百" not in plain[0]["text"]
    hit = svc.search("休息日加班 调休", ["hr"], 1, expand=True)[0]
    assert hit["context_after"].startswith("按照日工资的百分之二百支付加班费。")
    assert hit["pages"] == [2, 3] and hit["page"] == 2  # the hit itself is still page 2
    text = format_hits([{"n": 1, **hit}])
    assert "[1] 加班制度.pdf · p. 2–3" in text and "无法安排调休的，按照日工资" in text


def test_expansion_is_bounded_per_hit_and_per_search(svc) -> None:
    # Ten documents, each one long sentence cut into chunks: every hit has a next chunk to add.
    clause = "项目成员须按周填写工时记录并由组长核对签字确认，"
    files = [(f"工时{n}.txt", (f"第{n}组工时规定：" + clause * 40).encode()) for n in range(10)]
    svc.add_files(files, "pm")
    hits = svc.search("工时规定", ["pm"], 10, expand=True)
    assert len(hits) == 10
    added = [len(h.get("context_after", "")) + len(h.get("context_before", "")) for h in hits]
    assert any(added) and max(added) <= 2 * MAX_NEIGHBOUR_CHARS
    assert all(len(h.get("context_after", "")) <= MAX_NEIGHBOUR_CHARS for h in hits)
    assert sum(added) <= MAX_TOTAL_CHARS
