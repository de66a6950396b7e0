"""Scanned PDFs and images in the knowledge base, read by an OCR model (the DashScope fake), via the CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from tests.cli_inproc import run_main
from tests.conftest import CANARY
from tests.fakes import FakeDashScope, fault, text

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
PAGES = ["退款政策：收货后七天内可以无理由退货。", "保修条款：整机保修一年，电池保修半年。"]


def _env(fake: FakeDashScope | None, env: dict[str, str]) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))}
    full.update(PYTHONPATH=str(ROOT), AGENT_APP_LANG="en", **env)
    if fake is not None:
        full.update(DASHSCOPE_API_KEY=CANARY, DASHSCOPE_API_BASE=fake.base_url)
    return full


def kb(data: Path, fake: FakeDashScope | None, *args: str, **env: str) -> tuple[int, str, str]:
    """`agent-app kb *args` as its own process (exit code and streams as a script sees them)."""
    cmd = [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data), "kb", *args]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=_env(fake, env), capture_output=True, text=True, timeout=180
    )
    return proc.returncode, proc.stdout, proc.stderr


def kb_in(data: Path, fake: FakeDashScope | None, *args: str, **env: str) -> tuple[int, str, str]:
    """The same command through main(argv) in this process, for steps about the documents."""
    proc = run_main(["--data-dir", str(data), "kb", *args], env=_env(fake, env))
    return proc.returncode, proc.stdout, proc.stderr


def _scan(path: Path, pages: int) -> Path:
    """A PDF of page pictures only, as a scanner makes it (no text layer)."""
    shades = [Image.new("RGB", (300, 200), (250 - 40 * i, 250, 250)) for i in range(pages)]
    shades[0].save(path, "PDF", save_all=True, append_images=shades[1:])
    return path


@pytest.fixture
def fake():
    with FakeDashScope() as server:
        yield server


def test_a_scanned_pdf_is_read_page_by_page_and_cited_with_its_pages(tmp_path, fake):
    scan = _scan(tmp_path / "售后手册-扫描.pdf", 2)
    fake.push(text(PAGES[0]), text(PAGES[1]))
    ocr = {"AGENT_APP_OCR_MODEL": "qwen-vl-ocr-latest"}
    code, out, err = kb_in(tmp_path / "data", fake, "add", str(scan), "--collection", "c", **ocr)
    assert code == 0 and "1 ready" in out, out + err
    sent = [r.json for r in fake.chat_requests]
    assert [r["model"] for r in sent] == ["qwen-vl-ocr-latest"] * 2
    assert sent[0]["messages"][-1]["content"][1]["image_url"]["url"].startswith("data:image/")

    code, out, _ = kb_in(
        tmp_path / "data", fake, "search", "保修多久", "--collection", "c", "--json", **ocr
    )
    hits = json.loads(out)
    assert hits[0]["page"] == 2 and "保修一年" in hits[0]["text"]
    assert CANARY not in out + err


def test_without_a_model_nothing_is_read(tmp_path, fake):
    scan = _scan(tmp_path / "scan.pdf", 3)
    code, out, _ = kb_in(tmp_path / "data", fake, "add", str(scan), "--collection", "c")
    assert "No extractable text" in out and fake.chat_requests == []


def test_over_the_page_limit_the_cli_waits_for_ocr_all(tmp_path, fake):
    scan = _scan(tmp_path / "scan.pdf", 3)
    ocr = {"AGENT_APP_OCR_MODEL": "qwen-vl-ocr-latest", "AGENT_APP_OCR_MAX_PAGES": "2"}
    data = tmp_path / "data"
    code, out, err = kb(data, fake, "add", str(scan), "--collection", "c", **ocr)  # a process
    assert code == 3, out + err  # no terminal to ask on: a decision is pending, nothing failed
    assert "needs OCR" not in err and "OCR) of 3 pages (limit 2)" in out and "--ocr-all" in out
    assert fake.chat_requests == []  # nothing read before the user's yes
    code, out, _ = kb_in(data, fake, "list", "--collection", "c", "--json", **ocr)
    assert [d["status"] for d in json.loads(out)] == ["needs_confirmation"]

    fake.push(*(text(f"第{n}页：内容{n}。") for n in range(1, 4)))
    code, out, err = kb_in(data, fake, "add", str(scan), "--collection", "c", "--ocr-all", **ocr)
    assert code == 0 and "1 ready" in out, out + err
    assert len(fake.chat_requests) == 3
    assert [
        line.rsplit(" ", 1)[-1] for line in err.splitlines() if ": reading scanned pages" in line
    ] == [
        "0/3",
        "1/3",
        "2/3",
        "3/3",
    ]  # page by page on stderr
    code, out, _ = kb_in(data, fake, "search", "内容3", "--collection", "c", "--json", **ocr)
    assert json.loads(out)[0]["page"] == 3


def test_a_failing_ocr_model_indexes_nothing(tmp_path, fake):
    scan = _scan(tmp_path / "scan.pdf", 2)
    ocr = {"AGENT_APP_OCR_MODEL": "qwen-vl-ocr-latest"}
    fake.push(text(PAGES[0]), fault("auth"))
    code, out, _ = kb_in(tmp_path / "data", fake, "add", str(scan), "--collection", "c", **ocr)
    assert "could not read a scanned page" in out
    code, out, _ = kb_in(tmp_path / "data", fake, "list", "--collection", "c", "--json", **ocr)
    assert all(d.get("status") != "ready" for d in json.loads(out))


def test_an_image_upload_is_read_only_with_an_ocr_model(tmp_path, fake):
    ocr = {"AGENT_APP_OCR_MODEL": "qwen-vl-ocr-latest"}
    photo = tmp_path / "whiteboard.png"
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (255, 255, 255)).save(buf, "PNG")
    photo.write_bytes(buf.getvalue())
    code, out, _ = kb_in(tmp_path / "data", fake, "add", str(photo), "--collection", "c")
    assert "Unsupported file type (.png)" in out  # no OCR model: images are not documents
    fake.push(text("白板：周五发布。"))
    code, out, _ = kb_in(tmp_path / "data", fake, "add", str(photo), "--collection", "c", **ocr)
    assert code == 0 and "1 ready" in out
    code, out, _ = kb_in(
        tmp_path / "data", fake, "search", "周五发布", "--collection", "c", "--json", **ocr
    )
    assert json.loads(out)[0]["source"] == "whiteboard.png"


def test_on_a_terminal_kb_add_asks_and_a_yes_reads_every_page(tmp_path, fake):
    import pty
    import select

    scan = _scan(tmp_path / "scan.pdf", 3)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))}
    env.update(PYTHONPATH=str(ROOT), AGENT_APP_LANG="en", DASHSCOPE_API_KEY=CANARY)
    env.update(DASHSCOPE_API_BASE=fake.base_url, AGENT_APP_OCR_MODEL="qwen-vl-ocr-latest")
    env.update(AGENT_APP_OCR_MAX_PAGES="2")
    cmd = [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(tmp_path / "data")]
    fake.push(*(text(f"第{n}页：内容{n}。") for n in range(1, 4)))
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*cmd, "kb", "add", str(scan), "--collection", "c"],
        cwd=ROOT, env=env, stdin=slave, stderr=slave, stdout=subprocess.PIPE,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    try:
        while b"[y/N]" not in seen:
            ready, _, _ = select.select([master], [], [], 120)
            assert ready, seen.decode(errors="replace")
            seen += os.read(master, 4096)
        assert b"needs OCR of 3 pages (limit 2)" in seen and fake.chat_requests == []
        os.write(master, b"y\n")
        threading.Thread(target=_drain, args=(master,), daemon=True).start()  # progress lines
        out, _ = proc.communicate(timeout=180)
    finally:
        proc.kill()
        os.close(master)
    assert proc.returncode == 0 and b"1 ready" in out, out
    assert len(fake.chat_requests) == 3


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except OSError:  # the child closed its end
        pass


def test_an_ocr_page_that_times_out_indexes_nothing_and_the_next_try_works(tmp_path, fake):
    from agent_app.knowledge.service import KnowledgeService
    from agent_app.settings import Settings
    from tests.fakes import hang

    settings = Settings(
        data_dir=tmp_path / "data",
        provider="dashscope",
        dashscope_api_key=CANARY,
        dashscope_api_base=fake.base_url,
        embedding_provider="offline",
        ocr_model="qwen-vl-ocr-latest",
        request_timeout=1.0,
        max_retries=0,
        _env_file=None,
    )
    scan = _scan(tmp_path / "scan.pdf", 2).read_bytes()
    kb_service = KnowledgeService(settings, user="alice")
    try:
        fake.push(text(PAGES[0]), hang(5))  # the second page never comes back in time
        [res] = kb_service.add_files([("scan.pdf", scan)], "c", lang="en")
        assert res.status == "failed" and "could not read a scanned page" in (res.reason or "")
        assert CANARY not in (res.reason or "") and "Traceback" not in (res.reason or "")
        assert kb_service.search("保修多久", ["c"], 3) == []  # nothing of it was indexed
        fake.push(text(PAGES[0]), text(PAGES[1]))
        [again] = kb_service.add_files([("scan.pdf", scan)], "c", lang="en")
        assert again.status == "ready" and again.pages == 2
        assert kb_service.search("保修多久", ["c"], 3)[0]["page"] == 2
    finally:
        kb_service.close()
