"""Stored upload files: no orphan after a killed `kb add`, no symlink followed unless allowed."""

from __future__ import annotations

import os
import signal
import time

import pytest

from agent_app.knowledge.service import KnowledgeService
from agent_app.settings import Settings
from tests.test_kb_cli import kb

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# The n-gram embedder: these tests time a long add against a second start, calibrated on its speed.
OFFLINE = {"AGENT_APP_EMBEDDING_PROVIDER": "offline"}
LINE = "退款政策：自签收之日起七日内，商品完好的可申请无理由退货，运费由买家承担。第{n}条。\n"


def _big_text(path, lines: int = 12_000) -> None:
    path.write_text("".join(LINE.format(n=n) for n in range(lines)), encoding="utf-8")


def _wait_for_upload(uploads, proc, timeout: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if uploads.is_dir() and (names := os.listdir(uploads)):
            return names
        time.sleep(0.005)
    raise AssertionError("the upload never appeared")


def _service(data, **over) -> KnowledgeService:
    settings = Settings(
        data_dir=data,
        lang="en",
        tools_dirs=str(data / "tools"),
        embedding_provider="offline",
        **over,
    )
    return KnowledgeService(settings)


def test_killed_kb_add_leaves_no_orphan_and_a_running_one_is_not_swept(tmp_path) -> None:
    source, data = tmp_path / "big.txt", tmp_path / "data"
    _big_text(source)
    uploads = data / "knowledge" / "uploads"
    # A second process starting while an add is running must leave that add's file alone.
    running = kb(data, "add", str(source), "--collection", "c", wait=False, extra_env=OFFLINE)
    _wait_for_upload(uploads, running)
    _service(data).close()  # starts while the add is still parsing or embedding
    assert running.poll() is None, "the add finished too soon to test the sweep"
    out, err = running.communicate(timeout=180)
    assert running.returncode == 0 and "1 ready" in out, err
    assert len(os.listdir(uploads)) == 1
    # Now kill one mid-way: its copy has no row, and the next start removes it.
    other = tmp_path / "other.txt"
    _big_text(other, lines=12_001)
    victim = kb(data, "add", str(other), "--collection", "c", wait=False, extra_env=OFFLINE)
    names = _wait_for_upload_count(uploads, victim, 2)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert len(os.listdir(uploads)) == 2, names  # the orphan is there ...
    svc = _service(data)
    try:
        docs = svc.list_documents("c")
        assert [d["name"] for d in docs] == ["big.txt"]  # ... the killed add committed nothing
        cid = svc.store.collection_id(svc.user, "c")
        assert os.listdir(uploads) == svc.store.stored_names(cid)  # ... gone after the next start
    finally:
        svc.close()


def _wait_for_upload_count(uploads, proc, count: int, timeout: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if len(names := os.listdir(uploads)) >= count:
            return names
        time.sleep(0.005)
    raise AssertionError("the second upload never appeared")


def test_symlinks_are_refused_unless_the_operator_allows_them(tmp_path) -> None:
    secret = tmp_path / "outside" / "passwd.txt"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:机密账户:/root:/bin/bash\n", encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    link = docs / "notes.txt"
    link.symlink_to(secret)
    data = tmp_path / "data"
    code, out, err = kb(data, "add", str(link), "--collection", "c")
    assert code == 1 and "failed" in out and "symbolic link" in out, out + err
    assert "Traceback" not in err
    svc = _service(data)
    try:
        assert svc.search("机密账户", ["c"]) == []
        [result] = svc.add_files([link], "c")
        assert result.status == "failed" and result.code == "symlink"
    finally:
        svc.close()
    allowed = _service(data, kb_allow_symlinks=True)
    try:
        [result] = allowed.add_files([link], "c")
        assert result.status == "ready", result
    finally:
        allowed.close()
