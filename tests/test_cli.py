"""The CLI as a user runs it: processes (data-only steps via main() in-process), JSON lines, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_inproc import run_main
from tests.conftest import CANARY
from tests.fakes import FakeDashScope, fault, text, tool_calls

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def _cli_env(env: dict[str, str] | None) -> dict[str, str]:
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))
    }
    full_env["AGENT_APP_MEMORY_EXTRACT"] = "false"  # it would consume the fake's scripted answers
    full_env["AGENT_APP_TITLE_MODEL"] = "false"  # so would the title written after a first answer
    full_env.update(env or {})
    return full_env


def cli(
    data_dir: Path,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 90,
) -> subprocess.CompletedProcess[str]:
    """`agent-app --data-dir DATA *args` as its own process (the process contract)."""
    return subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        env=_cli_env(env),
        cwd=ROOT,
        input=stdin,
        timeout=timeout,
    )


def cli_in(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The same command through main(argv) in this process: for steps about the data, not the
    process (each contract keeps a subprocess test); a fresh process costs seconds of imports."""
    return run_main(["--data-dir", str(data_dir), *args], env=_cli_env(env), stdin=stdin)


def events(proc: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


@pytest.fixture
def fake():
    with FakeDashScope() as server:
        yield server


def _env(fake: FakeDashScope) -> dict[str, str]:
    return {
        "DASHSCOPE_API_KEY": CANARY,
        "DASHSCOPE_API_BASE": fake.base_url,
        "AGENT_APP_TOOLS_DIRS": "",
    }


def test_json_turn_and_continuation_in_a_new_process(data_dir, fake):
    fake.push(text("你好，我记住了：小明。"), text("你叫小明。"))
    first = cli(data_dir, "chat", "--json", "我叫小明", env=_env(fake))
    assert first.returncode == 0, first.stderr
    evs = events(first)
    assert evs[-1]["type"] == "done" and [e for e in evs if e["type"] == "token"]
    thread_id = evs[-1]["thread_id"]
    second = cli(data_dir, "chat", "--json", "--thread", thread_id, "我叫什么？", env=_env(fake))
    assert second.returncode == 0, second.stderr
    assert "".join(e["text"] for e in events(second) if e["type"] == "token") == "你叫小明。"
    sent = [m["content"] for m in fake.chat_requests[-1].json["messages"]]
    assert "我叫小明" in sent and "你好，我记住了：小明。" in sent
    assert CANARY not in first.stdout + first.stderr + second.stdout + second.stderr


def test_json_error_exit_code_and_one_error_event(data_dir, fake):
    fake.push(fault("auth"))
    proc = cli(data_dir, "chat", "--json", "hi", env=_env(fake))
    evs = events(proc)
    assert proc.returncode == 1 and [e["type"] for e in evs] == ["started", "error"]
    assert evs[1]["kind"] == "provider_auth" and "Traceback" not in proc.stderr
    assert CANARY not in proc.stdout + proc.stderr


def test_a_failed_first_turn_names_its_conversation_so_a_script_can_continue_it(data_dir, fake):
    fake.push(fault("auth"))
    failed = events(cli(data_dir, "chat", "--json", "第一个问题", env=_env(fake)))
    assert failed[0]["type"] == "started" and failed[0]["created"] is True
    assert failed[-1]["type"] == "error"
    thread_id = failed[0]["thread_id"]
    fake.push(text("第二次回答"))
    again = events(
        cli_in(data_dir, "chat", "--json", "--thread", thread_id, "再试", env=_env(fake))
    )
    assert again[0] == {"type": "started", "thread_id": thread_id, "created": False}
    assert again[-1]["type"] == "done" and again[-1]["thread_id"] == thread_id
    sent = [m["content"] for m in fake.chat_requests[-1].json["messages"]]
    assert "第一个问题" in sent and sent[-1] == "再试"


def test_json_text_is_verbatim_and_tools_show(data_dir, fake):
    fake.push(tool_calls([("calculator", {"expression": "6*7"})]), text("42"))
    proc = cli_in(
        data_dir,
        "chat",
        "--json",
        "/new is not a command here",
        env={**_env(fake), "AGENT_APP_TOOLS_DIRS": "tools"},
    )
    kinds = [e["type"] for e in events(proc)]
    assert "tool_start" in kinds and "tool_end" in kinds and kinds[-1] == "done"
    assert fake.chat_requests[0].json["messages"][-1]["content"] == "/new is not a command here"


def test_offline_first_run_without_key(data_dir):
    proc = cli_in(data_dir, "chat", "--json", "hello")
    assert proc.returncode == 0
    answer = "".join(e["text"] for e in events(proc) if e["type"] == "token")
    assert "DASHSCOPE_API_KEY" in answer


def test_unknown_thread_is_a_clear_error(data_dir):
    proc = cli(data_dir, "chat", "--json", "--thread", "nope", "hi")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and proc.stderr.strip()
    assert [(e["type"], e["kind"]) for e in events(proc)] == [("error", "not_found")]


def test_threads_list_rename_export_delete(data_dir, fake):
    fake.push(text("answer one"))
    thread_id = events(cli_in(data_dir, "chat", "--json", "first question", env=_env(fake)))[-1][
        "thread_id"
    ]
    listed = json.loads(cli(data_dir, "threads", "list", "--json").stdout)
    assert [t["id"] for t in listed] == [thread_id] and listed[0]["title"] == "first question"
    assert cli_in(data_dir, "threads", "rename", thread_id, "Renamed").returncode == 0
    md = cli_in(data_dir, "threads", "export", thread_id).stdout
    assert md.startswith("# Renamed") and "first question" in md and "answer one" in md
    data = json.loads(cli_in(data_dir, "threads", "export", thread_id, "--format", "json").stdout)
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert cli_in(data_dir, "threads", "delete", thread_id).returncode == 0
    assert json.loads(cli_in(data_dir, "threads", "list", "--json").stdout) == []


def test_repl_commands_and_streaming(data_dir, fake):
    fake.push(text("first reply"), text("second reply"))
    script = "hello\n/threads\n/new\nagain\n/model qwen-max\n/quit\n"
    proc = cli(data_dir, "chat", "--lang", "en", stdin=script, env=_env(fake))
    assert proc.returncode == 0, proc.stderr
    assert "first reply" in proc.stdout and "second reply" in proc.stdout
    assert "model: dashscope:qwen-max" in proc.stdout
    assert len(json.loads(cli_in(data_dir, "threads", "list", "--json").stdout)) == 2


def test_doctor_masks_keys(data_dir, fake):
    proc = cli(data_dir, "doctor", "--json", env=_env(fake))
    report = json.loads(proc.stdout)
    assert report["checks"]["provider"]["status"] == "ok"
    assert report["config"]["dashscope_api_key"] != CANARY and CANARY not in proc.stdout
    assert report["checks"]["data_dir"]["status"] == "ok"


def test_ctrl_c_stops_the_answer_and_the_conversation_goes_on(data_dir, fake):
    import signal
    import time

    fake.push(text("slow " * 200, chunk=5, pause=0.05), text("after stop"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE"))}
    env.update(_env(fake), PYTHONUNBUFFERED="1", AGENT_APP_MEMORY_EXTRACT="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("tell me a long story\n")
    proc.stdin.flush()
    seen = ""
    deadline = time.monotonic() + 60
    while "slow" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.read(1)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    out, err = proc.communicate("short question\n/quit\n", timeout=60)
    assert proc.returncode == 0, err
    assert "after stop" in out and "Traceback" not in err
    assert out.count("slow") < 200


def test_refused_input_stores_no_conversation(data_dir):
    env = {"AGENT_APP_PROVIDER": "offline", "AGENT_APP_MAX_INPUT_CHARS": "20"}
    blank = cli(data_dir, "chat", "--json", "   ", env=env)
    long = cli_in(data_dir, "chat", "--json", "x" * 30, env=env)
    plain = cli_in(data_dir, "chat", "--lang", "en", "x" * 30, env=env)
    assert [e["type"] for e in events(blank)] == ["error"] and blank.returncode == 1
    assert [e["kind"] for e in events(long)] == ["input_rejected"] and long.returncode == 1
    assert "too long" in plain.stderr and plain.returncode == 1
    assert json.loads(cli_in(data_dir, "threads", "list", "--json", env=env).stdout) == []
