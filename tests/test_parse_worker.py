"""The parse worker process: memory cap, time limit, hostile PDFs, plain JSON protocol (C3–C6)."""

from __future__ import annotations

import sys

import pytest

from agent_app.knowledge.errors import DocumentError
from agent_app.knowledge.worker import ParserPool, ParseWorker
from tests.kb_eval.helpers import blank_pdf, encrypted_pdf, flate_bomb_pdf
from tests.kb_eval.pdfgen import make_pdf

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def worker():
    w = ParseWorker()
    yield w
    w.close()


def _parse_error(worker: ParseWorker, path, kind: str = "pdf", timeout: float = 30) -> str:
    with pytest.raises(DocumentError) as exc:
        worker.parse(str(path), kind, timeout)
    return exc.value.code


def test_worker_parses_and_returns_plain_data(worker, tmp_path) -> None:
    path = tmp_path / "ok.pdf"
    path.write_bytes(make_pdf(["第一页", "第二页 退款政策"]))
    sections = worker.parse(str(path), "pdf")
    assert sections == [
        {"text": "第一页", "page": 1, "heading": None},
        {"text": "第二页 退款政策", "page": 2, "heading": None},
    ]


def test_encrypted_pdf_is_refused(worker, tmp_path) -> None:
    path = tmp_path / "enc.pdf"
    path.write_bytes(encrypted_pdf())
    assert _parse_error(worker, path) == "encrypted"


def test_scanned_pdf_without_text_layer(worker, tmp_path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(blank_pdf(3))
    assert _parse_error(worker, path) == "no_text"


def test_flate_bomb_fails_cleanly_and_worker_recovers(worker, tmp_path) -> None:
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(flate_bomb_pdf(80))
    assert _parse_error(worker, bomb) in {"bomb", "no_text", "memory", "corrupt"}
    ok = tmp_path / "ok.txt"
    ok.write_text("之后的文件照常解析", encoding="utf-8")
    assert worker.parse(str(ok), "txt")[0]["text"] == "之后的文件照常解析"


def test_garbage_pdf_is_corrupt_not_a_crash(worker, tmp_path) -> None:
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\ntrailer << /Size 99999999 >>\n")
    assert _parse_error(worker, path) in {"corrupt", "no_text"}


def test_memory_cap_stops_a_huge_parse(tmp_path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("退款政策" * 4_000_000, encoding="utf-8")  # ~48 MB of text
    small = ParseWorker(memory_mb=150)
    try:
        assert _parse_error(small, path, "txt") == "memory"
        ok = tmp_path / "ok.txt"
        ok.write_text("fine", encoding="utf-8")
        assert small.parse(str(ok), "txt")[0]["text"] == "fine"  # a fresh child took over
    finally:
        small.close()


def test_time_limit_kills_a_hanging_parser(tmp_path) -> None:
    hang = ParseWorker(command=[sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert _parse_error(hang, tmp_path / "x.pdf", timeout=0.5) == "timeout"
        assert hang._child is None  # killed and reaped
    finally:
        hang.close()


def test_a_crashing_child_is_reported(tmp_path) -> None:
    crash = ParseWorker(command=[sys.executable, "-c", "import os; os.abort()"])
    try:
        assert _parse_error(crash, tmp_path / "x.pdf") == "worker_crashed"
    finally:
        crash.close()


def test_child_gets_no_secrets(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-CANARY-0123456789")
    script = "import os,sys,json; sys.stdin.readline(); print(json.dumps({'ok': True, 'sections': [{'text': json.dumps(dict(os.environ))}]}), flush=True)"
    spy = ParseWorker(command=[sys.executable, "-c", script])
    try:
        env_dump = spy.parse(str(tmp_path / "x.txt"), "txt")[0]["text"]
    finally:
        spy.close()
    assert "CANARY" not in env_dump and "DASHSCOPE" not in env_dump


def test_pool_serves_threads(tmp_path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pool = ParserPool(size=2)
    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.md"
        path.write_text(f"# 标题{i}\n内容{i}", encoding="utf-8")
        paths.append(path)
    try:
        with ThreadPoolExecutor(4) as ex:
            results = list(ex.map(lambda p: pool.parse(str(p), "md"), paths))
    finally:
        pool.close()
    assert [r[0]["heading"] for r in results] == [f"标题{i}" for i in range(6)]
