"""`agent-app threads` as a user runs it: id prefixes, confirmations, messages in the user's language."""

from __future__ import annotations

import json

import pytest

from agent_app.conversations import open_conversations
from agent_app.settings import Settings
from tests.test_cli import cli, cli_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _threads_sharing_a_first_character(data_dir):
    """Conversations until two ids start alike: (convs, the pair, one more that starts otherwise)."""
    convs = open_conversations(Settings(data_dir=data_dir, _env_file=None))
    seen: dict[str, list[str]] = {}
    # Until two ids start alike and a third starts otherwise (the first two may be the pair).
    while not (len(seen) >= 2 and any(len(ids) >= 2 for ids in seen.values())):
        info = convs.new_thread("local", title=f"talk {len(seen)}")
        seen.setdefault(info.id[0], []).append(info.id)
    pair = tuple(next(ids for ids in seen.values() if len(ids) >= 2)[:2])
    other = next(ids[0] for c, ids in seen.items() if c != pair[0][0])
    return convs, pair, other


def test_a_prefix_names_one_conversation_and_an_ambiguous_one_lists_the_candidates(data_dir):
    convs, (first, second), other = _threads_sharing_a_first_character(data_dir)
    convs.close()
    ambiguous = cli(data_dir, "threads", "delete", first[0], "--lang", "en")
    assert ambiguous.returncode == 1
    assert first[:12] in ambiguous.stderr and second[:12] in ambiguous.stderr, ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr
    renamed = cli_in(data_dir, "threads", "rename", other[:6], "Trip notes", "--lang", "en")
    assert renamed.returncode == 0, renamed.stderr
    assert f"Renamed conversation {other[:8]}" in renamed.stdout and "Trip notes" in renamed.stdout
    exported = cli_in(data_dir, "threads", "export", other[:6], "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["title"] == "Trip notes"
    deleted = cli_in(data_dir, "threads", "delete", first[:10], "--lang", "zh")
    assert deleted.returncode == 0, deleted.stderr
    assert f"已删除对话 {first[:8]}" in deleted.stdout
    convs = open_conversations(Settings(data_dir=data_dir, _env_file=None))
    left = {i.id for i in convs.list_threads("local")}
    convs.close()
    assert first not in left and {second, other} <= left  # only the one named was deleted


def test_messages_follow_the_saved_language_unless_lang_is_given(data_dir):
    convs = open_conversations(Settings(data_dir=data_dir, _env_file=None))
    convs.set_prefs("local", lang="en")  # what the UI's language switch stores
    convs.close()
    saved = cli(data_dir, "threads", "rename", "no-such-id", "x")
    assert saved.returncode == 1 and "Conversation not found." in saved.stderr, saved.stderr
    given = cli_in(data_dir, "--lang", "zh", "threads", "rename", "no-such-id", "x")
    assert given.returncode == 1 and "找不到该对话" in given.stderr, given.stderr
    kb = cli_in(data_dir, "kb", "remove", "a.md", "--collection", "nope")
    assert kb.returncode == 1 and "Collection not found: nope" in kb.stderr, kb.stderr
