"""The thread registry (owners, titles, options, turn notes, preferences) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from agent_app.storage.backend import target_for
from agent_app.storage.threads import TITLE_MAX, ThreadRegistry

pytestmark = pytest.mark.unit


@pytest.fixture
def registry(db_settings):
    reg = ThreadRegistry(target_for(db_settings, "app.db"))
    yield reg
    reg.close()


def test_threads_belong_to_their_owner(registry):
    mine = registry.create("alice", "Trip to 杭州", {"model": "qwen-plus"})
    theirs = registry.create("bob", "bob's")
    assert registry.get("alice", mine.id) == mine
    assert registry.get("bob", mine.id) is None
    assert registry.exists_for_other("bob", mine.id) and not registry.exists_for_other(
        "alice", mine.id
    )
    assert [t.id for t in registry.list("alice")] == [mine.id]
    assert not registry.rename("alice", theirs.id, "stolen") and not registry.delete(
        "alice", theirs.id
    )
    assert registry.get("bob", theirs.id).title == "bob's"
    assert registry.get("alice", mine.id).options == {"model": "qwen-plus"}


def test_search_is_case_blind_and_treats_wildcards_literally(registry):
    plain = registry.create("alice", "Budget REVIEW")
    registry.create("alice", "50% off")
    registry.create("alice", "5000 off")
    registry.create("alice", "under_score")
    registry.create("alice", "underXscore")
    assert [t.id for t in registry.list("alice", "review")] == [plain.id]
    assert [t.title for t in registry.list("alice", "50%")] == ["50% off"]
    assert [t.title for t in registry.list("alice", "under_")] == ["under_score"]


def test_touch_titles_once_rename_and_delete_take_notes_along(registry):
    info = registry.create("alice")
    registry.touch("alice", info.id, title_if_empty="first   question " + "x" * 200)
    titled = registry.get("alice", info.id)
    assert titled.title.startswith("first question") and len(titled.title) == TITLE_MAX
    registry.touch("alice", info.id, title_if_empty="second")
    assert registry.get("alice", info.id).title == titled.title
    assert registry.rename("alice", info.id, "  Renamed ")
    assert registry.get("alice", info.id).title == "Renamed"
    registry.set_note(info.id, "m1", {"usage": [{"input_tokens": 3}]})
    registry.set_note(info.id, "m1", {"notices": ["回答来自缓存"]})  # replaced, not added
    registry.set_note(info.id, "m2", {"failed": {"kind": "timeout"}})
    registry.set_note(info.id, "m2", {})  # empty notes remove the row
    assert registry.notes(info.id) == {"m1": {"notices": ["回答来自缓存"]}}
    assert registry.delete("alice", info.id)
    assert registry.get("alice", info.id) is None and registry.notes(info.id) == {}


def test_options_and_preferences_round_trip(registry):
    info = registry.create("alice")
    registry.set_options("alice", info.id, {"collections": ["手册"], "plan": True})
    registry.set_options("bob", info.id, {"plan": False})  # not bob's: nothing changes
    assert registry.get("alice", info.id).options == {"collections": ["手册"], "plan": True}
    assert registry.get_prefs("alice") == {}
    registry.set_prefs("alice", {"lang": "en"})
    registry.set_prefs("alice", {"lang": "zh", "approve": "all"})
    assert registry.get_prefs("alice") == {"lang": "zh", "approve": "all"}
    assert registry.get_prefs("bob") == {}


def test_threads_of_many_writers_are_all_kept(registry):
    made: list[str] = []

    def write(user: str) -> None:
        for i in range(20):
            made.append(registry.create(user, f"{user}-{i}").id)

    workers = [threading.Thread(target=write, args=(u,)) for u in ("alice", "bob", "carol")]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for user in ("alice", "bob", "carol"):
        titles = sorted(t.title for t in registry.list(user))
        assert titles == sorted(f"{user}-{i}" for i in range(20))
    assert len(set(made)) == 60
