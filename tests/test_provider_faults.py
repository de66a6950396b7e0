"""The real ChatQwen / ChatOllama clients, through the whole service, against loopback fakes."""

from __future__ import annotations

import logging
import time

import pytest

from agent_app import events as ev
from agent_app.wiring import open_service
from tests.conftest import CANARY
from tests.fakes import (
    FakeDashScope,
    FakeOllama,
    cut_stream,
    fault,
    hang,
    inspection_midstream,
    malformed_sse,
    split_utf8,
    text,
    tool_calls,
)
from tests.helpers import add, collect, echo_tool

pytestmark = pytest.mark.integration


@pytest.fixture
def fake():
    with FakeDashScope() as server:
        yield server


def _svc(settings, fake, **over):
    values = dict(
        provider="dashscope",
        dashscope_api_key=CANARY,
        dashscope_api_base=fake.base_url,
        max_retries=2,
        retry_base_delay=0.01,
        request_timeout=5.0,
    )
    values.update(over)
    svc = open_service(settings.with_overrides(**values), tools=[add, echo_tool])
    return svc, svc.new_thread("u").id


def _roles(svc, thread_id):
    return [m["role"] for m in svc.messages("u", thread_id)]


def test_streams_answer_and_reasoning_separately(settings, fake):
    fake.push(text("答案是四。", reasoning="先想一想", chunk=2))
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "二加二？", user_id="u"))
    assert res.text == "答案是四。"
    assert "".join(e.text for e in res.events if isinstance(e, ev.Reasoning)) == "先想一想"
    assert sum(isinstance(e, ev.Token) for e in res.events) >= 3  # streamed, not one blob
    assert isinstance(res.events[-1], ev.Done)
    req = fake.chat_requests[0]
    assert req.headers.get("authorization") == f"Bearer {CANARY}"
    assert {t["function"]["name"] for t in req.json["tools"]} == {"add", "echo_tool"}


def test_tool_call_deltas_and_parallel_calls(settings, fake):  # A11
    fake.push(
        tool_calls([("echo_tool", {"text": "a"}), ("add", {"a": 1, "b": 2})], repeat_name=True),
        text("ok"),
    )
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "go", user_id="u"))
    starts = [e for e in res.events if isinstance(e, ev.ToolStart)]
    assert sorted(s.name for s in starts) == ["add", "echo_tool"]
    assert len({s.call_id for s in starts}) == 2
    assert res.text == "ok"


def test_truncated_tool_json_is_never_executed(settings, fake):  # A10 on the real client
    fake.push(
        tool_calls([("echo_tool", '{"text": "http://ex')]),
        tool_calls([("echo_tool", {"text": "ok"})]),
        text("done"),
    )
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "go", user_id="u"))
    assert [s.args for s in res.events if isinstance(s, ev.ToolStart)] == [{"text": "ok"}]
    assert res.text == "done"


def test_read_timeout_retries_then_clear_error(settings, fake):  # A1
    fake.push(hang(3), hang(3))
    svc, th = _svc(settings, fake, request_timeout=0.4, max_retries=1)
    started = time.monotonic()
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.errors and res.errors[-1].kind == "timeout"
    assert len(fake.chat_requests) == 2 and time.monotonic() - started < 4
    assert _roles(svc, th) == ["user"]  # stored once, no partial AI message


def test_rate_limit_honours_retry_after_then_succeeds(settings, fake):  # A2
    fake.push(fault("rate_limit", retry_after=0.3), fault("rate_limit"), text("fine"))
    svc, th = _svc(settings, fake)
    started = time.monotonic()
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.text == "fine" and time.monotonic() - started >= 0.24
    assert len(fake.chat_requests) == 3


def test_rate_limit_gives_up_after_cap(settings, fake):  # A2
    fake.push(*[fault("rate_limit")] * 5)
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.errors[-1].kind == "rate_limited" and len(fake.chat_requests) == 3
    assert _roles(svc, th) == ["user"]


@pytest.mark.parametrize("kind", ["quota", "arrearage"])
def test_quota_is_not_retried(settings, fake, kind):  # A3
    fake.push(fault(kind), text("never"))
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.errors[-1].kind == "quota_exhausted" and len(fake.chat_requests) == 1


def test_html_500_retries_then_fallback_model(settings, fake):  # A4
    fake.push(fault("html500"), fault("html500"), fault("html500"), text("from fallback"))
    svc, th = _svc(settings, fake, fallback_model="qwen-turbo")
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.text == "from fallback"
    assert any(isinstance(e, ev.Notice) and "qwen-turbo" in e.message for e in res.events)
    assert fake.chat_requests[-1].json["model"] == "qwen-turbo"


def test_everything_failing_ends_in_one_clear_error(settings, fake):  # A4
    fake.push(*[fault("503")] * 6)
    svc, th = _svc(settings, fake, fallback_model="qwen-turbo", max_retries=1)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert [e.kind for e in res.errors] == ["provider_unavailable"]
    assert "<html" not in res.errors[0].message.lower()


def test_input_inspection_removes_the_blocked_message(settings, fake):  # A5
    fake.push(text("first answer"), fault("inspection"), text("third"))
    svc, th = _svc(settings, fake)
    collect(svc.stream(th, "hello", user_id="u"))
    res = collect(svc.stream(th, "blocked words", user_id="u"))
    assert res.errors[-1].kind == "content_filtered" and len(fake.chat_requests) == 2
    assert _roles(svc, th) == ["user", "assistant"]
    assert collect(svc.stream(th, "fine words", user_id="u")).text == "third"


def test_output_inspection_midstream_discards_partial(settings, fake):  # A5
    fake.push(inspection_midstream("部分回答"))
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.errors[-1].kind == "content_filtered" and res.errors[-1].partial
    assert "assistant" not in _roles(svc, th) and len(fake.chat_requests) == 1


def test_bad_key_is_not_retried_and_never_shown(settings, fake, caplog):  # A6, H1
    caplog.set_level(logging.DEBUG)
    fake.push(fault("auth"))
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.errors[-1].kind == "provider_auth" and len(fake.chat_requests) == 1
    dumped = "\n".join(ev.to_json(e) for e in res.events)
    assert CANARY not in dumped and CANARY not in caplog.text


def test_missing_key_is_a_clear_error(settings):  # A6
    svc = open_service(settings.with_overrides(provider="dashscope"), tools=[])
    th = svc.new_thread("u").id
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert (
        res.errors[-1].kind == "provider_not_configured"
        and "DASHSCOPE_API_KEY" in res.errors[-1].message
    )


def test_cut_stream_is_interrupted_not_stored_and_retry_does_not_duplicate(settings, fake):  # A7
    fake.push(cut_stream("半句话"), text("完整回答"))
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.errors[-1].kind == "interrupted" and res.errors[-1].partial
    assert res.text.startswith("半") and _roles(svc, th) == ["user"]
    again = collect(svc.retry(th, user_id="u"))
    assert again.text == "完整回答" and _roles(svc, th) == ["user", "assistant"]


def test_malformed_sse_is_tolerated(settings, fake):  # A8
    fake.push(malformed_sse("still fine"))
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.text == "still fine" or (res.errors and res.errors[-1].message)


def test_utf8_split_inside_a_character(settings, fake):  # A9
    fake.push(split_utf8("你好😀"))
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.text == "你好😀" and "\ufffd" not in res.text


def test_canary_never_reaches_the_database(settings, fake):  # H1
    fake.push(fault("auth"), text("ok"))
    svc, th = _svc(settings, fake)
    collect(svc.stream(th, "hello", user_id="u"))
    collect(svc.stream(th, "hello", user_id="u"))
    svc.close()
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path.name


# ---- Ollama -------------------------------------------------------------------------------
@pytest.fixture
def ollama():
    with FakeOllama() as server:
        yield server


def _ollama_svc(settings, server, model="qwen3:0.6b", **over):
    s = settings.with_overrides(provider="ollama", ollama_host=server.base_url, model=model, **over)
    svc = open_service(s, tools=[add, echo_tool])
    return svc, svc.new_thread("u").id


def test_ollama_streams_and_calls_tools(settings, ollama):
    ollama.push(tool_calls([("add", {"a": 2, "b": 2})]), text("四"))
    svc, th = _ollama_svc(settings, ollama)
    res = collect(svc.stream(th, "2+2", user_id="u"))
    assert [e.name for e in res.events if isinstance(e, ev.ToolStart)] == ["add"]
    assert res.text == "四" and isinstance(res.events[-1], ev.Done)


def test_ollama_model_without_tools_runs_without_them(settings, ollama):
    ollama.push(text("plain answer"))
    svc, th = _ollama_svc(settings, ollama, model="gemma3:1b")
    res = collect(svc.stream(th, "hi", user_id="u"))
    assert any(isinstance(e, ev.Notice) and "gemma3:1b" in e.message for e in res.events)
    assert res.text == "plain answer" and not ollama.chat_requests[0].json.get("tools")


def test_ollama_missing_model_and_old_server_and_down(settings, ollama):  # A18
    svc, th = _ollama_svc(settings, ollama, model="nope:1b")
    res = collect(svc.stream(th, "hi", user_id="u"))
    assert res.errors[-1].kind == "provider_unavailable" and "Ollama" in res.errors[-1].message
    ollama.version = "0.5.0"
    svc2, th2 = _ollama_svc(settings, ollama, model="qwen3:0.6b", lang="en")
    from agent_app.providers import models

    models._caps_cache.clear()
    res2 = collect(svc2.stream(th2, "hi", user_id="u", lang="en"))
    assert "0.17.1" in res2.errors[-1].message
    svc3, th3 = _ollama_svc(settings, ollama, model="x:1b")
    svc3.settings = svc3.settings.with_overrides(ollama_host="http://127.0.0.1:9")
    res3 = collect(svc3.stream(th3, "hi", user_id="u"))
    assert res3.errors[-1].kind == "provider_unavailable"


def test_ollama_refuses_a_public_host(settings):  # A18
    s = settings.with_overrides(provider="ollama", ollama_host="http://8.8.8.8:11434")
    svc = open_service(s, tools=[])
    th = svc.new_thread("u").id
    res = collect(svc.stream(th, "hi", user_id="u", lang="en"))
    assert "non-local" in res.errors[-1].message


def test_openai_compatible_endpoint(settings, fake):
    fake.push(text("<think>hmm</think>compatible answer", chunk=3))
    s = settings.with_overrides(
        provider="openai", openai_base_url=fake.base_url, openai_api_key=CANARY, model="qwen-plus"
    )
    svc = open_service(s, tools=[add])
    th = svc.new_thread("u").id
    res = collect(svc.stream(th, "hi", user_id="u"))
    assert res.text == "compatible answer"
    assert "".join(e.text for e in res.events if isinstance(e, ev.Reasoning)) == "hmm"
    assert any(isinstance(e, ev.Usage) and e.model == "openai:qwen-plus" for e in res.events)


def test_thinking_is_requested_per_thread(settings, fake):
    fake.push(text("ok", reasoning="thinking..."))
    svc, th = _svc(settings, fake)
    svc.set_thread_options("u", th, thinking=True, model="qwen3-8b")
    res = collect(svc.stream(th, "hi", user_id="u"))
    body = fake.chat_requests[0].json
    assert body["model"] == "qwen3-8b" and body.get("enable_thinking") is True
    assert [e.text for e in res.events if isinstance(e, ev.Reasoning)] and res.text == "ok"


def test_stop_cuts_the_stream_at_the_next_token(settings, fake):
    import threading

    fake.push(text("字" * 400, chunk=2, pause=0.02), text("next"))
    svc, th = _svc(settings, fake)
    stop = threading.Event()
    started, events = None, []
    for event in svc.stream(th, "long please", user_id="u", stop=stop):
        events.append(event)
        if isinstance(event, ev.Token) and started is None:
            started = (
                time.monotonic()
            )  # from the stop on: the cold start of a loaded machine is not measured
            stop.set()
    assert (
        started is not None and time.monotonic() - started < 3
    )  # the rest of the answer would take 4 s
    assert events[-1].type == "error" and events[-1].kind == "stopped"
    assert _roles(svc, th) in (["user"], [])
    assert collect(svc.stream(th, "again", user_id="u")).text == "next"
