"""One HTML extractor behind the knowledge base and the web reader: hidden text out, the rest kept."""

from __future__ import annotations

import socket

import pytest

from agent_app.htmltext import HtmlTooDeepError, html_sections, html_to_text
from agent_app.knowledge.errors import DocumentError
from agent_app.knowledge.worker import ParseWorker
from agent_app.toolbox.webreader import make_read_webpage
from tests.plugins.netfakes import (
    PUBLIC_IP,
    TRICKY_PAGE,
    FakeResolver,
    RecordingBackend,
    web_server,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
VISIBLE = (
    "SEEN-START",
    "SEEN-AFTER-DIV",
    "SEEN-AFTER-ZERO",
    "SEEN-AFTER-ARIA",
    "SEEN-AFTER-SCRIPT",
    "SEEN-END",
)
HIDDEN = (
    "HIDDEN-DIV",
    "ZERO-SIZE",
    "TRANSPARENT",
    "ARIA-HIDDEN",
    "DISPLAY-NONE",
    "SCRIPT-TEXT",
    "COMMENT-TEXT",
    "p{}",
)


def _check(text: str) -> None:
    assert [w for w in VISIBLE if w not in text] == []  # nothing after a hidden element is lost
    assert [w for w in HIDDEN if w in text] == []


@pytest.fixture(scope="module")
def worker():
    w = ParseWorker()
    yield w
    w.close()


def test_knowledge_base_keeps_text_after_hidden_elements(worker, tmp_path) -> None:
    path = tmp_path / "page.html"
    path.write_text(TRICKY_PAGE, encoding="utf-8")
    sections = worker.parse(str(path), "html")  # the ingest path: parsed in the worker child
    _check("\n".join(s["text"] for s in sections))


def test_web_reader_gives_the_same_visible_text(monkeypatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", FakeResolver({"public.example": [PUBLIC_IP]}))
    with web_server() as server:
        backend = RecordingBackend({PUBLIC_IP: server.server_port})
        out = make_read_webpage(backend=backend).invoke({"url": "http://public.example/tricky"})
    _check(out)


def test_headings_give_sections_their_path() -> None:
    html = (
        "<h1>规则</h1><p>总则</p><h2>退款</h2><div hidden><h2>秘密</h2></div><p>七日内</p>"
        "<h1>附录</h1><table><tr><td>a<td>b</table>"
    )
    sections = html_sections(html)
    assert [(s["heading"], s["text"]) for s in sections] == [
        ("规则", "总则"),
        ("规则 > 退款", "七日内"),
        ("附录", "| a | b"),
    ]


def test_whitespace_pre_and_title() -> None:
    title, text = html_to_text(
        "<title> The  page </title><p>提前&nbsp;24\n  小时</p><pre>a\n  b</pre><p>x<br>y</p>"
    )
    assert title == "The page"
    assert text == "提前 24 小时\na\n  b\nx\ny"


@pytest.mark.parametrize("html", ["", "   ", "<!-- only a comment -->", "<?php x ?>"])
def test_empty_documents_have_no_text(html: str) -> None:
    assert html_to_text(html) == ("", "") and html_sections(html) == []


def test_deep_nesting_within_reach_is_read_and_beyond_is_refused(worker, tmp_path) -> None:
    depth = 1500
    assert "deep" in html_to_text("<div>" * depth + "deep" + "</div>" * depth + "<p>tail")[1]
    with pytest.raises(HtmlTooDeepError):
        html_to_text("<div>" * 5000 + "lost" + "</div>" * 5000)
    path = tmp_path / "deep.html"
    path.write_text("<div>" * 5000 + "x", encoding="utf-8")
    with pytest.raises(DocumentError) as exc:
        worker.parse(str(path), "html")
    assert exc.value.code == "corrupt"  # refused with a clear message, never silently truncated


def test_web_reader_refuses_a_page_too_deep_to_read(monkeypatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", FakeResolver({"public.example": [PUBLIC_IP]}))
    with web_server() as server:
        backend = RecordingBackend({PUBLIC_IP: server.server_port})
        out = make_read_webpage(backend=backend).invoke({"url": "http://public.example/deep"})
    assert "nested too deeply" in out and "DEEP-TEXT" not in out
