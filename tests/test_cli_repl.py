"""`agent-app chat` as a user runs it: thinking apart from the answer, /model checked, --json failures."""

from __future__ import annotations

import pytest

from tests.fakes import FakeDashScope, text
from tests.test_cli import _env, cli, cli_in, events

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def fake():
    with FakeDashScope() as server:
        yield server


def test_repl_shows_thinking_apart_from_the_answer(data_dir, fake):
    fake.push(text("The answer is 42.", reasoning="Six times seven is forty-two."))
    proc = cli_in(data_dir, "chat", "--lang", "en", stdin="what is 6*7?\n/quit\n", env=_env(fake))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    thinking = next(i for i, line in enumerate(lines) if "Six times seven" in line)
    answer = next(i for i, line in enumerate(lines) if "The answer is 42." in line)
    assert "[thinking]" in "\n".join(lines[: thinking + 1])
    assert answer > thinking and "Six times seven" not in lines[answer]
    assert "[answer]" in "\n".join(lines[thinking + 1 : answer + 1])


def test_repl_rejects_an_unknown_model_and_lists_the_models(data_dir, fake):
    script = "/model no-such-model\n/model qwen-max\n/quit\n"
    proc = cli_in(data_dir, "chat", "--lang", "en", stdin=script, env=_env(fake))
    assert proc.returncode == 0, proc.stderr
    assert "Unknown model “no-such-model”" in proc.stdout
    assert "dashscope:qwen-plus" in proc.stdout and "offline:offline" in proc.stdout
    assert "model: dashscope:no-such-model" not in proc.stdout
    assert "model: dashscope:qwen-max" in proc.stdout


def test_json_reports_a_bad_resume_as_an_error_event(data_dir, fake):
    first = cli_in(data_dir, "chat", "--json", "hello", env=_env(fake))
    thread_id = events(first)[0]["thread_id"]
    proc = cli(
        data_dir, "chat", "--json", "--thread", thread_id, "--resume", "{not json", env=_env(fake)
    )
    evs = events(proc)
    assert proc.returncode == 1
    assert evs[0] == {"type": "started", "thread_id": thread_id, "created": False}
    assert evs[-1]["type"] == "error" and "--resume" in evs[-1]["message"]
    assert "Traceback" not in proc.stderr
    idle = cli_in(
        data_dir, "chat", "--json", "--thread", thread_id, "--resume", "approve", env=_env(fake)
    )
    assert idle.returncode == 1 and events(idle)[-1]["type"] == "error"
    assert not [r for r in fake.chat_requests[1:]]  # nothing was waiting: the model was not called


def test_repl_speaks_the_language_asked_for(data_dir, fake):
    script = "/help\n/new\n/threads\n/nope\n/quit\n"
    zh = cli_in(data_dir, "chat", "--lang", "zh", stdin=script, env=_env(fake))
    assert zh.returncode == 0, zh.stderr
    assert "开始新对话" in zh.stdout and "新对话 " in zh.stdout and "未知命令 /nope" in zh.stdout
    assert "start a new conversation" not in zh.stdout and "unknown command" not in zh.stdout
    en = cli_in(data_dir, "chat", "--lang", "en", stdin=script, env=_env(fake))
    assert "start a new conversation" in en.stdout and "unknown command /nope" in en.stdout
    assert "开始新对话" not in en.stdout
