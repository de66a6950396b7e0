"""ThreadOptions: defaults applied in one place, old rows read safely, the REPL shows what runs."""

from __future__ import annotations

import json

import pytest

from agent_app.settings import Settings
from agent_app.thread_options import ThreadOptions
from agent_app.wiring import open_service
from tests.conftest import CANARY
from tests.test_cli import cli

pytestmark = pytest.mark.integration


def test_repl_names_the_model_the_conversation_runs_on(data_dir):
    """A provider chosen without a model runs that provider's default, and /model says so."""
    env = {"DASHSCOPE_API_KEY": CANARY, "AGENT_APP_TOOLS_DIRS": ""}
    proc = cli(
        data_dir, "chat", "--lang", "en", "--provider", "ollama", env=env, stdin="/model\n/quit\n"
    )
    assert proc.returncode == 0, proc.stderr
    shown = next(
        line[line.index("model: ") :] for line in proc.stdout.splitlines() if "model: " in line
    )
    threads = json.loads(cli(data_dir, "threads", "list", "--json", env=env).stdout)
    svc = open_service(
        Settings(data_dir=data_dir, dashscope_api_key=CANARY, tools_dirs="", _env_file=None),
        tools=[],
    )
    try:
        options = svc.thread_options(svc.get_thread(svc.settings.user, threads[0]["id"]))
    finally:
        svc.close()
    assert (options.provider, options.model) == (
        "ollama",
        "qwen3:0.6b",
    )  # what the picker shows and runs
    assert shown == f"model: {options.provider}:{options.model}"


def test_old_and_hand_edited_rows_fall_back_to_the_settings(settings):
    svc = open_service(settings.with_overrides(plan=True, approval_mode="none"), tools=[])
    user = svc.settings.user
    try:
        odd = svc.new_thread(user)
        svc.registry.set_options(
            user,
            odd.id,
            {
                "provider": "nope",
                "model": "",
                "thinking": "yes",
                "temperature": "hot",
                "plan": None,
                "approval_mode": "sometimes",
                "collections": "docs",
                "disabled_tools": 3,
                "legacy": 1,
            },
        )
        assert svc.thread_options(svc.get_thread(user, odd.id)) == svc.thread_options(None)
        assert svc.thread_options(None) == ThreadOptions(
            provider="offline", model="offline", thinking=False, approval_mode="none", plan=True
        )
        old = svc.new_thread(user)
        svc.registry.set_options(
            user,
            old.id,
            {
                "provider": "ollama",
                "collections": ["a", "a", "b"],
                "disabled_tools": ["calculator"],
                "plan": False,
                "temperature": 1,
            },
        )
        options = svc.thread_options(svc.get_thread(user, old.id))
        assert (options.provider, options.model, options.plan, options.temperature) == (
            "ollama",
            "qwen3:0.6b",
            False,
            1.0,
        )
        assert options.collections == ("a", "b") and options.disabled_tools == ("calculator",)
    finally:
        svc.close()


def test_set_thread_options_merges_and_refuses_unknown_names(settings):
    svc = open_service(settings, tools=[])
    user = svc.settings.user
    try:
        thread = svc.new_thread(user).id
        svc.set_thread_options(user, thread, provider="ollama", collections=[])
        options = svc.set_thread_options(user, thread, model="qwen3:4b", provider=None)
        assert (options.provider, options.model, options.collections) == ("ollama", "qwen3:4b", ())
        assert svc.get_thread(user, thread).options == {
            "provider": "ollama",
            "collections": [],
            "model": "qwen3:4b",
        }
        with pytest.raises(TypeError):
            svc.set_thread_options(user, thread, modle="typo")
    finally:
        svc.close()
