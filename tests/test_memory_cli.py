"""`agent-app memory …` as a user types it, and extraction after a turn."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import cli, cli_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_memory_cli_round_trip(data_dir, tmp_path):
    # Two steps run as processes (JSON on stdout; exit 1 with one line on stderr), the rest call
    # the same main() in this process.
    added = json.loads(cli(data_dir, "memory", "add", "我对花生过敏", "--json").stdout)
    assert added["text"] == "我对花生过敏" and added["id"]
    cli_in(data_dir, "memory", "add", "I prefer answers in English")
    listed = json.loads(cli_in(data_dir, "memory", "list", "--json").stdout)
    assert {m["text"] for m in listed} == {"我对花生过敏", "I prefer answers in English"}
    assert all(
        {"id", "text", "source_thread", "created_at", "updated_at"} <= set(m) for m in listed
    )
    hits = json.loads(cli_in(data_dir, "memory", "search", "花生过敏", "--k", "1", "--json").stdout)
    assert hits[0]["text"] == "我对花生过敏" and isinstance(hits[0]["score"], float)
    assert json.loads(cli_in(data_dir, "memory", "list", "--json", "--user", "bob").stdout) == []
    out = tmp_path / "mem.json"
    exported = cli_in(data_dir, "memory", "export", str(out), "--lang", "en")
    assert exported.returncode == 0 and exported.stdout.strip() == "2 memories written"
    imported = cli_in(data_dir, "memory", "import", str(out), "--user", "carol", "--lang", "zh")
    assert imported.returncode == 0 and imported.stdout.strip() == "已导入 2 条记忆"
    assert (
        len(json.loads(cli_in(data_dir, "memory", "list", "--json", "--user", "carol").stdout)) == 2
    )
    assert cli_in(data_dir, "memory", "delete", added["id"]).returncode == 0
    bad = cli(data_dir, "memory", "delete", added["id"], "--user", "bob")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    empty = cli_in(data_dir, "memory", "add", "   ")
    assert empty.returncode == 1 and empty.stderr.strip() and "Traceback" not in empty.stderr


def test_extraction_runs_after_the_answer(settings, monkeypatch):
    from agent_app import events as ev
    from tests.helpers import collect, scripted_service
    from tests.scripted_model import ScriptedChatModel, answer

    monkeypatch.setenv("AGENT_APP_MEMORY_EXTRACT", "true")
    model = ScriptedChatModel(script=[answer("好的"), answer('["用户在做一个叫 Atlas 的项目"]')])
    svc = scripted_service(settings.with_overrides(memory_extract=True), model, tools=[])
    thread = svc.new_thread("u").id
    res = collect(svc.stream(thread, "我最近在做 Atlas 项目", user_id="u"))
    assert isinstance(res.events[-1], ev.Done)
    assert svc.last_extraction is not None
    svc.last_extraction.result(timeout=30)
    items = svc.memory.list("u")
    assert [i["text"] for i in items] == ["用户在做一个叫 Atlas 的项目"]
    assert items[0]["kind"] == "extracted" and items[0]["source_thread"] == thread
