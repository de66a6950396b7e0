"""Read-only sharing of a collection: the grantee searches and reads it, never changes it; others see nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from langchain.tools import ToolRuntime

from agent_app.agent.context import AgentContext
from agent_app.knowledge.errors import KnowledgeError
from agent_app.knowledge.tool import search_knowledge_tool
from agent_app.knowledge.worker import ParserPool
from tests.cli_inproc import run_main
from tests.kb_eval.helpers import make_service, url_of

pytestmark = pytest.mark.integration
HANDBOOK = "员工手册：年假每年十五天，病假需要医生证明。报销在每月五日前提交。"
BOB_NOTES = "鲍勃的私人笔记：年假打算去云南，病假条放在抽屉里。"
QUERY = "年假 病假"


@pytest.fixture(scope="module")
def pool():
    p = ParserPool(size=2)
    yield p
    p.close()


@pytest.fixture
def svc(tmp_path, pool, backend):
    service = make_service(tmp_path / "data", pool, database_url=url_of(backend))
    alice, bob = service.for_user("alice"), service.for_user("bob")
    alice.add_files([("handbook.txt", HANDBOOK.encode())], "handbook")
    bob.add_files([("notes.txt", BOB_NOTES.encode())], "notes")  # bob owns data too
    yield service
    service.close()


def _tool_hits(svc, user: str, collections=None) -> list[dict]:
    tool = search_knowledge_tool(svc)
    runtime = ToolRuntime(
        state={},
        context=AgentContext(user_id=user, collections=collections),
        config={},
        stream_writer=lambda _: None,
        tool_call_id="c1",
        store=None,
    )
    return tool.func(QUERY, runtime)[1]


def _sources(hits) -> set[str]:
    return {h["source"] for h in hits}


def test_a_shared_collection_is_searchable_and_readable_but_not_changeable(svc) -> None:
    alice, bob, carol = (svc.for_user(u) for u in ("alice", "bob", "carol"))
    # not shared yet: for bob and carol it does not exist, on every path
    assert "handbook.txt" not in _sources(bob.search(QUERY))
    assert bob.search(QUERY, ["handbook"]) == [] and bob.list_documents("handbook") == []
    assert "handbook.txt" not in _sources(_tool_hits(svc, "bob"))
    with pytest.raises(KnowledgeError) as missing:
        bob.preview_chunks("handbook.txt", "handbook")
    assert missing.value.code == "not_found"

    assert alice.share("handbook", ["bob"]) == ["bob"]
    assert _sources(bob.search(QUERY)) == {"handbook.txt", "notes.txt"}
    assert _sources(bob.search(QUERY, ["handbook"])) == {"handbook.txt"}
    assert _sources(_tool_hits(svc, "bob", ("handbook",))) == {"handbook.txt"}
    [doc] = bob.list_documents("handbook")
    assert (doc["name"], doc["owner"]) == ("handbook.txt", "alice")
    assert "年假" in bob.preview_chunks("handbook.txt", "handbook")[0]["text"]
    listed = {c["name"]: c for c in bob.list_collections()}
    assert listed["handbook"]["read_only"] and listed["handbook"]["owner"] == "alice"
    assert not listed["notes"]["read_only"]
    # carol was not named: still nothing
    assert carol.search(QUERY) == [] and carol.list_collections() == []
    # bob can change nothing of it
    for change in (
        lambda: bob.add_files([("evil.txt", "年假取消了。".encode())], "handbook"),
        lambda: bob.remove("handbook.txt", "handbook"),
        lambda: bob.delete_collection("handbook"),
        lambda: bob.share("handbook", ["carol"]),
    ):
        with pytest.raises(KnowledgeError) as refused:
            change()
        assert refused.value.code == "read_only"
        assert "read" in refused.value.user_message("en")
    assert [d["name"] for d in alice.list_documents("handbook")] == ["handbook.txt"]
    # and alice still cannot read bob's unshared notes
    assert "notes.txt" not in _sources(alice.search(QUERY))


def test_unsharing_takes_effect_at_the_next_call(svc) -> None:
    alice, bob = svc.for_user("alice"), svc.for_user("bob")
    alice.share("handbook", ["bob"])
    assert "handbook.txt" in _sources(bob.search(QUERY))
    assert alice.unshare("handbook", ["bob"]) == []
    assert "handbook.txt" not in _sources(bob.search(QUERY))
    assert "handbook.txt" not in _sources(_tool_hits(svc, "bob", ("handbook",)))
    assert bob.list_documents("handbook") == []
    with pytest.raises(KnowledgeError) as gone:
        bob.preview_chunks("handbook.txt", "handbook")
    assert gone.value.code == "not_found"


def test_everyone_and_a_collision_with_an_own_collection(svc) -> None:
    alice, bob, carol = (svc.for_user(u) for u in ("alice", "bob", "carol"))
    assert alice.share("handbook", everyone=True) == ["*"]
    assert _sources(carol.search(QUERY)) == {"handbook.txt"}
    # bob makes his own "handbook": writes go to his, reads cover both
    bob.create_collection("handbook")
    [added] = bob.add_files([("mine.txt", "鲍勃的手册：年假笔记。".encode())], "handbook")
    assert added.status == "ready"
    assert [d["name"] for d in alice.list_documents("handbook")] == ["handbook.txt"]
    assert _sources(bob.search(QUERY, ["handbook"])) == {"handbook.txt", "mine.txt"}
    assert alice.shared_collections()[0]["shared_with"] == ["*"]
    alice.delete_collection("handbook")  # the share goes with it
    assert alice.shared_collections() == [] and "handbook.txt" not in _sources(carol.search(QUERY))


def _kb_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE_"))}
    env["AGENT_APP_LANG"] = "en"
    return env


def _cli(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), "kb", *args],
        capture_output=True,
        text=True,
        env=_kb_env(),
        timeout=120,
    )


def _cli_in(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    """The same `kb` command through main(argv) in this process (no process start to pay)."""
    return run_main(["--data-dir", str(data_dir), "kb", *args], env=_kb_env())


@pytest.mark.slow
def test_kb_share_and_unshare_from_the_cli(tmp_path) -> None:
    # Sharing and a refused write run as processes (stdout; exit 1 with stderr), the other steps
    # call the same main() in this process.
    data, doc = tmp_path / "data", tmp_path / "handbook.md"
    doc.write_text("# Handbook\n\n" + HANDBOOK + "\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text(BOB_NOTES + "\n", encoding="utf-8")
    assert (
        _cli_in(data, "add", str(doc), "--collection", "handbook", "--user", "alice").returncode
        == 0
    )
    assert (
        _cli_in(
            data, "add", str(tmp_path / "notes.md"), "--collection", "notes", "--user", "bob"
        ).returncode
        == 0
    )

    def bob_search(*extra: str) -> subprocess.CompletedProcess[str]:
        return _cli_in(data, "search", QUERY, "--json", "--user", "bob", *extra)

    assert "handbook.md" not in bob_search().stdout
    not_found = bob_search("--collection", "handbook")
    assert not_found.returncode == 1 and "not found" in not_found.stderr

    shared = _cli(data, "share", "handbook", "--with", "bob", "--user", "alice")
    assert shared.returncode == 0, shared.stderr
    assert "bob" in shared.stdout
    hits = json.loads(bob_search("--collection", "handbook").stdout)
    assert {h["source"] for h in hits} == {"handbook.md"}
    listing = _cli_in(data, "list", "--user", "bob")
    assert "handbook" in listing.stdout and "alice" in listing.stdout
    refused = _cli(data, "remove", "handbook.md", "--collection", "handbook", "--user", "bob")
    assert (
        refused.returncode == 1 and "read" in refused.stderr and "Traceback" not in refused.stderr
    )
    refused = _cli_in(data, "add", str(doc), "--collection", "handbook", "--user", "bob")
    assert refused.returncode == 1 and "read" in refused.stderr

    assert _cli_in(data, "unshare", "handbook", "--with", "bob", "--user", "alice").returncode == 0
    assert bob_search("--collection", "handbook").returncode == 1
    everyone = _cli_in(data, "share", "handbook", "--everyone", "--user", "alice")
    assert everyone.returncode == 0, everyone.stderr
    carol = json.loads(_cli_in(data, "search", QUERY, "--json", "--user", "carol").stdout)
    assert {h["source"] for h in carol} == {"handbook.md"}
