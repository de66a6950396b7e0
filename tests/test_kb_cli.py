"""`agent-app kb` contract (DESIGN §6) through real subprocesses: stdout is data, stderr is progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_inproc import run_main

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "corpus" / "kb"


def _env(url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))}
    env.update(PYTHONPATH=str(ROOT), AGENT_APP_LANG="en")
    if url is not None:
        env["AGENT_APP_DATABASE_URL"] = url
    return env


def kb_in(data_dir: Path, *args: str, url: str | None = None) -> tuple[int, str, str]:
    """The same command through main(argv) in this process (for steps about the documents)."""
    done = run_main(["--data-dir", str(data_dir), "kb", *args], env=_env(url))
    return done.returncode, done.stdout, done.stderr


def kb(
    data_dir: Path,
    *args: str,
    wait: bool = True,
    url: str | None = None,
    extra_env: dict[str, str] | None = None,
):
    """`agent-app kb *args` as its own process: exit code, stdout and stderr as a script sees them."""
    env = {**_env(url), **(extra_env or {})}
    cmd = [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), "kb", *args]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if not wait:
        return proc
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


class Replicas:
    """SQLite: one data directory. PostgreSQL: a fresh data directory for every command (only
    the database is shared), so a document one process added must come from the database."""

    def __init__(self, tmp_path: Path, backend: str) -> None:
        self.root, self.url, self.n = tmp_path, None if backend == "sqlite" else backend, 0

    def __call__(self, *args: str, wait: bool = True):
        self.n += 1
        data = self.root / ("data" if self.url is None else f"replica-{self.n}")
        return kb(data, *args, wait=wait, url=self.url)

    def in_process(self, *args: str) -> tuple[int, str, str]:
        """A command through main() in this process (processes stay where they are the point)."""
        self.n += 1
        data = self.root / ("data" if self.url is None else f"replica-{self.n}")
        return kb_in(data, *args, url=self.url)

    def files_on_disk(self) -> list[Path]:
        return [p for p in self.root.glob("*/knowledge/uploads/*") if p.is_file()]


def test_add_search_list_remove(tmp_path, backend) -> None:
    # Every step is a process (the stdout/stderr contract); on PostgreSQL each has a fresh data
    # directory. In-process steps here once printed to the test's own stdout (a fresh-clone CI run).
    replicas = Replicas(tmp_path, backend)
    run = replicas
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    for name in ("退款与售后政策.pdf", "信息安全规范.txt"):
        (docs / name).write_bytes((DATA / name).read_bytes())
    (docs / "sub" / "员工手册.docx").write_bytes((DATA / "员工手册.docx").read_bytes())
    (docs / "sub" / "ignored.bin").write_bytes(b"\x00\x01")

    code, out, err = run("add", str(docs), "--collection", "公司")
    assert code == 0, err
    assert "3 ready" in out and "退款与售后政策.pdf" in out and "Traceback" not in err
    assert "parsing" in err and "indexed" in err  # progress goes to stderr

    code, out, err = run("search", "退款政策", "--collection", "公司", "--k", "3", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert 1 <= len(hits) <= 3 and hits[0]["source"] == "退款与售后政策.pdf"
    assert all(set(h) == {"text", "source", "page", "score", "chunk_id"} for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)

    code, out, _ = run("list", "--json")
    assert code == 0 and {d["source"] for d in json.loads(out)} == {
        "退款与售后政策.pdf",
        "信息安全规范.txt",
        "员工手册.docx",
    }

    code, out, _ = run("remove", "信息安全规范.txt", "--collection", "公司")
    assert code == 0 and "removed" in out
    code, out, _ = run("list", "--collection", "公司")
    assert "信息安全规范.txt" not in out and "员工手册.docx" in out
    if replicas.url is not None:  # the uploads went to the database, none to any data directory
        assert replicas.files_on_disk() == []


def test_errors_are_one_clear_line_with_non_zero_exit(tmp_path) -> None:
    data = tmp_path / "data"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, out, err = kb(data, "add", str(empty), "--collection", "c")
    assert code == 1 and "File is empty." in out and "Traceback" not in err
    code, out, err = kb(data, "search", "x", "--collection", "nope", "--json")
    assert code == 1 and out == "" and err.strip() == "error: Collection not found: nope"
    code, _, err = kb(data, "remove", "ghost.pdf", "--collection", "c")
    assert code == 1 and err.strip() == "error: Document not found: ghost.pdf"


def test_two_processes_adding_at_once_lose_nothing(tmp_path, backend) -> None:
    run = Replicas(tmp_path, backend)
    groups = []
    for g in range(2):
        folder = tmp_path / f"g{g}"
        folder.mkdir()
        for i in range(3):
            (folder / f"{g}-{i}.md").write_text(
                f"# 文档{g}-{i}\n报销流程说明，编号{g}{i}。", encoding="utf-8"
            )
        groups.append(folder)
    procs = [run("add", str(folder), "--collection", "shared", wait=False) for folder in groups]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    code, out, _ = run.in_process(
        "search", "报销流程", "--collection", "shared", "--k", "10", "--json"
    )
    assert code == 0 and len(json.loads(out)) == 6


def test_messages_follow_the_language(tmp_path) -> None:
    note = tmp_path / "note.md"
    note.write_text("# 报销\n报销需要在三十天内提交。", encoding="utf-8")
    data = tmp_path / "data"
    code, out, err = kb_in(data, "add", str(note), "--collection", "c", "--lang", "zh")
    assert code == 0, err
    assert "已索引" in out and "集合 c" in out and "chunk" not in out and "ready" not in out
    code, out, _ = kb_in(data, "list", "--lang", "zh")
    assert "1 个文档" in out and "documents" not in out
    code, out, _ = kb_in(data, "list", "--lang", "en")
    assert "(1 document, 1 chunk)" in out  # no "1 chunks"
    code, out, _ = kb_in(data, "remove", "note.md", "--collection", "c", "--lang", "zh")
    assert code == 0 and "已从 c 移除 note.md" in out
