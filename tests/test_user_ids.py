"""One user-id rule for threads, memories and the knowledge base: look-alike ids are refused."""

from __future__ import annotations

import pytest

from agent_app.errors import AppError
from agent_app.memory.service import MemoryService
from tests.helpers import scripted_service
from tests.kb_eval.helpers import make_service
from tests.scripted_model import ScriptedChatModel
from tests.test_cli import cli, cli_in

pytestmark = pytest.mark.integration
LOOKALIKES = ["bob\x07", "bob\u200b", " bob", "bob\n", "bo\u0301b", "b" * 200, ""]


def test_lookalike_ids_share_nothing_with_bob_and_are_refused(db_settings) -> None:
    svc = scripted_service(db_settings, ScriptedChatModel(default="ok"), tools=[])
    memory = MemoryService(svc.store)
    memory.add("bob", "Bob's salary is 30k")
    bob_thread = svc.new_thread("bob").id
    for bad in LOOKALIKES:
        with pytest.raises(AppError) as exc:
            memory.list(bad)
        assert exc.value.kind == "bad_user_id" or bad == ""
        with pytest.raises(AppError):
            memory.add(bad, "planted")
        with pytest.raises(AppError):
            svc.new_thread(bad)
        events = list(svc.stream(bob_thread, "hi", user_id=bad))
        assert [e.type for e in events] == ["error"]
    assert [m["text"] for m in memory.list("bob")] == ["Bob's salary is 30k"]
    svc.close()


def test_knowledge_base_refuses_them_too(tmp_path) -> None:
    kb = make_service(tmp_path / "data")
    try:
        kb.for_user("bob").add_files([("a.txt", "鲍勃的文件".encode())], "c")
        for bad in LOOKALIKES[:-1]:
            with pytest.raises(AppError):
                kb.for_user(bad)
    finally:
        kb.close()


@pytest.mark.slow
def test_cli_refuses_a_lookalike_user_clearly(data_dir) -> None:
    added = cli_in(data_dir, "memory", "add", "--user", "bob", "Bob likes tea")
    assert added.returncode == 0, added.stderr
    proc = cli(data_dir, "memory", "list", "--user", "bob\x07", "--json")
    assert proc.returncode != 0 and "Bob likes tea" not in proc.stdout
    assert "用户 ID" in proc.stderr and "Traceback" not in proc.stderr  # the default language is zh
