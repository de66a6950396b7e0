"""MCP servers from mcp.json (G7): timeouts, isolation of bad servers, descriptions pinned by hash."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from agent_app.settings import Settings
from agent_app.toolbox import load_tools
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel, answer, call

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SERVER = Path(__file__).resolve().parent / "plugins" / "mcp_example_server.py"


def stdio(variant: str = "", **extra: object) -> dict[str, object]:
    entry: dict[str, object] = {"command": sys.executable, "args": [str(SERVER)], **extra}
    if variant:
        entry["env"] = {"EXAMPLE_MCP_VARIANT": variant}
    return entry


def write_config(tmp_path: Path, servers: dict[str, object]) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    return path


def load(tmp_path: Path, config: Path):
    settings = Settings(
        data_dir=tmp_path / "data", tools_dirs=str(tmp_path / "tools"), _env_file=None
    )
    return load_tools(settings, mcp_config=config)


def test_stdio_server_tools_load_pin_and_run(tmp_path: Path) -> None:
    toolset = load(tmp_path, write_config(tmp_path, {"example": stdio()}))
    add, echo = toolset.info("add_numbers"), toolset.info("echo_text")
    assert add.enabled and add.source == "mcp:example" and not add.needs_approval  # readOnlyHint
    assert echo.enabled and echo.needs_approval  # not annotated read-only: asks by default
    # The sync agent calls the async-only tool; the model sees its text, not content blocks.
    model = ScriptedChatModel(script=[call("add_numbers", {"a": 2, "b": 3}), answer("five")])
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    svc = scripted_service(settings, model, tools=toolset.tools)
    collect(svc.stream(svc.new_thread("u").id, "add", user_id="u"))
    result = next(m for m in model.seen[1] if isinstance(m, ToolMessage))
    assert result.content == "5" and result.status == "success"
    pins = json.loads((tmp_path / "data" / "mcp_pins.json").read_text())["tools"]
    assert set(pins) == {"example/add_numbers", "example/echo_text"}
    assert "mcp" in toolset.timings_ms


def test_changed_description_is_held_until_approved(tmp_path: Path, capsys) -> None:
    from agent_app.cli.main import main

    load(tmp_path, write_config(tmp_path, {"example": stdio()}))
    changed = write_config(tmp_path, {"example": stdio("changed")})
    toolset = load(tmp_path, changed)
    echo = toolset.info("echo_text")
    assert not echo.enabled and "changed since it was approved" in echo.reason
    assert "agent-app tools approve example/echo_text" in echo.reason
    assert toolset.get("echo_text") is None and toolset.get("add_numbers") is not None

    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "mcp.json").write_text(changed.read_text())
    assert (
        main(["--data-dir", str(tmp_path / "data"), "tools", "approve", "example/echo_text"]) == 0
    )
    assert "approved example/echo_text" in capsys.readouterr().out
    assert load(tmp_path, changed).info("echo_text").enabled


def test_bad_servers_are_disabled_with_reasons_and_the_rest_loads(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        {
            "good": stdio(),
            "hangs": stdio("hang", connect_timeout=2),
            "crashes": stdio("crash"),
            "injected": stdio("injected"),
            "missing": {"command": str(tmp_path / "no-such-binary"), "args": []},
            "down": {
                "url": "http://127.0.0.1:9/mcp",
                "transport": "streamable_http",
                "connect_timeout": 3,
            },
            "weird": {"transport": "carrier-pigeon"},
            "../bad name": stdio(),
            "off": {**stdio(), "disabled": True},
        },
    )
    started = time.monotonic()
    toolset = load(tmp_path, config)
    assert time.monotonic() - started < 30
    rows = {i.source: i for i in toolset.infos if i.source.startswith("mcp:") and not i.enabled}
    assert rows["mcp:hangs"].reason == "MCP server did not answer within 2 s"
    assert rows["mcp:crashes"].reason.startswith("MCP server unavailable")
    assert rows["mcp:missing"].reason.startswith("MCP server unavailable: FileNotFoundError")
    assert str(tmp_path) not in rows["mcp:missing"].reason  # no paths in reasons
    assert rows["mcp:down"].reason.startswith("MCP server unavailable")
    assert rows["mcp:weird"].reason.startswith("invalid entry")
    assert rows["mcp:off"].reason == "disabled in mcp.json"
    assert any(i.reason == "invalid server name or entry" for i in toolset.infos)
    injected = {i.name: i for i in toolset.infos if i.source == "mcp:injected"}
    assert "addresses the model" in injected["echo_text"].reason
    assert "duplicate name: already provided by mcp:good" in injected["add_numbers"].reason
    good = [i for i in toolset.infos if i.source == "mcp:good"]
    assert [i.enabled for i in good] == [True, True]
    assert toolset.get("calculator") is not None  # the app carries on


def _agent_calls(tmp_path: Path, toolset, *calls: tuple[str, dict]) -> list[ToolMessage]:
    """Run each call as one turn of the real agent; the tool results the model saw, in order."""
    script = []
    for name, args in calls:
        script += [call(name, args), answer("ok")]
    model = ScriptedChatModel(script=script)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    svc = scripted_service(settings, model, tools=toolset)
    thread = svc.new_thread("u").id
    for _ in calls:
        collect(svc.stream(thread, "go", user_id="u"))
    return [
        next(m for m in reversed(seen) if isinstance(m, ToolMessage))
        for seen in model.seen
        if seen and isinstance(seen[-1], ToolMessage)
    ]


def _starts(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def test_one_session_per_server_serves_every_call_and_ends_on_close(tmp_path: Path) -> None:
    log = tmp_path / "starts.txt"
    entry = stdio(env={"EXAMPLE_MCP_STARTS": str(log)})
    toolset = load(tmp_path, write_config(tmp_path, {"example": entry}))
    try:
        results = _agent_calls(
            tmp_path, toolset, ("add_numbers", {"a": 1, "b": 2}), ("add_numbers", {"a": 3, "b": 4})
        )
        assert [r.content for r in results] == ["3", "7"]
        assert len(_starts(log)) == 1  # started once, at load: not once per call
    finally:
        toolset.close()
    pid = _starts(log)[0]
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_server_that_died_is_reconnected_at_its_next_call(tmp_path: Path) -> None:
    log = tmp_path / "starts.txt"
    entry = stdio(env={"EXAMPLE_MCP_VARIANT": "lively", "EXAMPLE_MCP_STARTS": str(log)})
    toolset = load(tmp_path, write_config(tmp_path, {"example": entry}))
    try:
        ended, after = _agent_calls(
            tmp_path, toolset, ("end_server", {}), ("add_numbers", {"a": 20, "b": 22})
        )
        assert ended.status == "error"  # the call that killed it fails, clearly
        assert after.content == "42" and after.status == "success"
        assert len(_starts(log)) == 2
    finally:
        toolset.close()


def test_a_description_changed_while_running_is_refused_until_approved(tmp_path: Path) -> None:
    entry = stdio(env={"EXAMPLE_MCP_VARIANT": "lively"}, needs_approval=False)
    toolset = load(tmp_path, write_config(tmp_path, {"example": entry}))
    try:
        before, changed = _agent_calls(
            tmp_path, toolset, ("echo_text", {"text": "hi"}), ("change_echo", {})
        )
        _wait_for(lambda: toolset.get("echo_text") is None)  # listed again on the announcement
        [after] = _agent_calls(tmp_path, toolset, ("echo_text", {"text": "hi"}))
    finally:
        toolset.close()
    assert before.content == "hi" and changed.content == "changed"
    assert after.status == "error" and "echo_text" in after.content  # no longer offered
    [row] = [i for i in toolset.infos if i.name == "echo_text"]
    assert not row.enabled and "changed since it was approved" in row.reason  # shown, held back
    assert "tools approve example/echo_text" in row.reason


def _wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_tool_the_server_announces_while_running_is_offered_without_a_restart(
    tmp_path: Path,
) -> None:
    log = tmp_path / "starts.txt"
    entry = stdio(env={"EXAMPLE_MCP_VARIANT": "lively", "EXAMPLE_MCP_STARTS": str(log)})
    toolset = load(tmp_path, write_config(tmp_path, {"example": entry}))
    try:
        assert toolset.get("shout_text") is None
        model = ScriptedChatModel(
            script=[
                call("grow", {}),
                answer("ok"),
                call("shout_text", {"text": "hi"}),
                answer("ok"),
            ]
        )
        settings = Settings(data_dir=tmp_path / "data", _env_file=None)
        svc = scripted_service(settings, model, tools=toolset)
        thread = svc.new_thread("u").id
        collect(svc.stream(thread, "grow", user_id="u"))
        _wait_for(lambda: toolset.get("shout_text") is not None)
        collect(svc.stream(thread, "shout", user_id="u"))
        [shout] = [m for m in model.seen[-1] if isinstance(m, ToolMessage)][-1:]
        assert shout.content == "HI!" and shout.status == "success"
        assert any(i.name == "shout_text" and i.enabled for i in svc.tools())
        assert len(_starts(log)) == 1  # the same session all along
    finally:
        toolset.close()


def test_a_tool_added_without_an_announcement_appears_after_the_listing_ttl(
    tmp_path: Path, monkeypatch
) -> None:
    from agent_app.toolbox import loader

    entry = stdio(env={"EXAMPLE_MCP_VARIANT": "lively"})
    toolset = load(tmp_path, write_config(tmp_path, {"example": entry}))
    try:
        _agent_calls(tmp_path, toolset, ("grow", {"announce": False}))
        time.sleep(0.5)
        assert toolset.current() is toolset.tools and toolset.get("shout_text") is None
        monkeypatch.setattr(loader, "MCP_LIST_TTL_S", 0.0)
        assert "shout_text" in [t.name for t in toolset.current()]  # listed again when due
    finally:
        toolset.close()


def test_a_server_that_cannot_be_restarted_gives_a_clear_tool_error(tmp_path: Path) -> None:
    once = tmp_path / "started-once"
    entry = stdio(env={"EXAMPLE_MCP_VARIANT": "lively", "EXAMPLE_MCP_ONCE": str(once)})
    toolset = load(tmp_path, write_config(tmp_path, {"example": entry}))
    try:
        ended, after = _agent_calls(
            tmp_path, toolset, ("end_server", {}), ("add_numbers", {"a": 1, "b": 2})
        )
    finally:
        toolset.close()
    assert ended.status == "error"
    assert after.status == "error"
    assert "MCP server 'example' stopped and could not be restarted" in after.content
    assert str(tmp_path) not in after.content
