"""The real provider clients (ChatQwen, ChatOpenAI, ChatOllama, embeddings) against the fakes."""

from __future__ import annotations

import json
import math
import time
import warnings

import dashscope
import httpx
import ollama
import openai
import pytest
import requests
from langchain_core.exceptions import ModelError
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_ollama import ChatOllama, OllamaEmbeddings
from langchain_openai import ChatOpenAI, OpenAIEmbeddings
from langchain_qwq import ChatQwen

import tests.fakes as fx
from tests.fakes.testing import aggregate as collect
from tests.fakes.testing import chain_text, is_utf8, raw_parts, stream_until_error

pytestmark = pytest.mark.integration
KEY = "sk-CANARY-0123456789"
TWO_CALLS = [("get_weather", {"city": "北京"}), ("get_time", {"tz": "Asia/Shanghai"})]


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"{city}: 晴 25°C"


@tool
def get_time(tz: str) -> str:
    """Current time in a timezone."""
    return f"12:00 {tz}"


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def ds():
    with fx.FakeDashScope() as fake:
        yield fake
    assert not fake.errors, fake.errors


@pytest.fixture
def ol():
    with fx.FakeOllama() as fake:
        yield fake
    assert not fake.errors, fake.errors


def qwen(fake: fx.FakeDashScope, **kw) -> ChatQwen:
    kw.setdefault("max_retries", 0)
    kw.setdefault("streaming", True)
    return ChatQwen(model=kw.pop("model", "qwen-plus"), api_key=KEY, api_base=fake.base_url, **kw)


# --- ChatQwen over the DashScope compatible-mode SSE ------------------------------------


def test_qwen_streams_script_and_request_is_recorded(ds):
    answer = "Hello, 世界! Streaming works."
    ds.push(fx.text(answer, chunk=3))
    chunks, msg = collect(qwen(ds).stream("hi there"))
    assert "".join(c.content for c in chunks) == answer
    assert sum(1 for c in chunks if c.content) == math.ceil(len(answer) / 3)
    assert msg.usage_metadata["input_tokens"] > 0 and msg.usage_metadata["output_tokens"] > 0
    req = ds.chat_requests[-1]
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.body["stream"] is True and req.body["stream_options"] == {"include_usage": True}
    assert req.body["messages"][-1] == {"role": "user", "content": "hi there"}
    assert KEY not in req.raw.decode()


def test_qwen_reasoning_arrives_in_additional_kwargs_not_content(ds):
    ds.push(fx.text("答案是 42。", reasoning="先想一想：6×7=42", chunk=2))
    chunks, msg = collect(qwen(ds).stream("6 乘 7？"))
    thought = "".join(c.additional_kwargs.get("reasoning_content", "") for c in chunks)
    assert thought == "先想一想：6×7=42"
    assert msg.content == "答案是 42。"
    first_text = next(i for i, c in enumerate(chunks) if c.content)
    assert not any(c.additional_kwargs.get("reasoning_content") for c in chunks[first_text:])
    assert msg.usage_metadata["output_token_details"]["reasoning"] > 0


def test_qwen_parallel_tool_calls_stay_separate(ds):
    script = fx.tool_calls(TWO_CALLS)
    ds.push(script)
    chunks, msg = collect(qwen(ds).bind_tools([get_weather, get_time]).stream("天气和时间？"))
    assert [tc["id"] for tc in msg.tool_calls] == [c.id for c in script.tool_calls]
    assert len({tc["id"] for tc in msg.tool_calls}) == 2
    assert [(tc["name"], tc["args"]) for tc in msg.tool_calls] == TWO_CALLS
    assert sum(1 for c in chunks if c.tool_call_chunks) > 4  # arguments really came in pieces
    sent = ds.chat_requests[-1].body
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather", "get_time"]
    assert sent["parallel_tool_calls"] is True


def test_repeated_name_fixture_reproduces_concatenated_tool_names(ds):
    """A11 fixture: name repeated in every delta -> the client merges it into one long name."""
    calls = [("get_weather", {"city": "北京"}), ("get_weather", {"city": "上海"})]
    ds.push(fx.tool_calls(calls, repeat_name=True))
    _, msg = collect(qwen(ds).bind_tools([get_weather]).stream("两个城市"))
    assert len({tc["id"] for tc in msg.tool_calls}) == 2
    assert all(tc["name"].startswith("get_weatherget_weather") for tc in msg.tool_calls)


def test_qwen_invalid_tool_json_streamed_vs_invoked(ds):
    raw = '{"url": "http://ex'
    bound = qwen(ds).bind_tools([get_weather])
    ds.push(fx.tool_calls([("fetch_url", raw)]))
    _, streamed = collect(bound.stream("fetch"))
    # langchain-core's partial-JSON parser "completes" the truncated arguments silently;
    # only tool_call_chunks keep the raw text that shows the JSON was cut.
    assert streamed.tool_call_chunks[0]["args"] == raw
    assert streamed.tool_calls[0]["args"] == {"url": "http://ex"}
    assert streamed.invalid_tool_calls == []
    ds.push(fx.tool_calls([("fetch_url", raw)]), fx.tool_calls([("fetch_url", "[1,2]")]))
    invoked = qwen(ds, streaming=False).bind_tools([get_weather]).invoke("fetch")
    assert invoked.tool_calls == [] and invoked.invalid_tool_calls[0]["args"] == raw
    _, non_object = collect(bound.stream("fetch"))
    assert non_object.tool_calls == [] and non_object.invalid_tool_calls[0]["args"] == "[1,2]"


def test_split_utf8_cuts_codepoints_on_the_wire_and_qwen_reassembles(ds):
    ds.push(fx.split_utf8("你好😀"), fx.split_utf8("你好😀"))
    body = {"model": "qwen-plus", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    parts = raw_parts(f"{ds.base_url}/chat/completions", body, {"Authorization": f"Bearer {KEY}"})
    assert sum(1 for p in parts if not is_utf8(p)) >= 3  # each multi-byte char really split
    _, msg = collect(qwen(ds).stream("hi"))
    assert msg.content == "你好😀" and "\ufffd" not in msg.content


FAULTS = [
    ("auth", openai.AuthenticationError, 401, "invalid_api_key"),
    ("rate_limit", openai.RateLimitError, 429, "limit_requests"),
    ("quota", openai.RateLimitError, 429, "insufficient_quota"),
    ("free_tier", openai.PermissionDeniedError, 403, "AllocationQuota.FreeTierOnly"),
    ("arrearage", openai.BadRequestError, 400, "Arrearage"),
    ("inspection", openai.BadRequestError, 400, "data_inspection_failed"),
    ("context_length", openai.BadRequestError, 400, "invalid_parameter_error"),
    ("500", openai.InternalServerError, 500, "internal_error"),
    ("503", openai.InternalServerError, 503, "ServiceUnavailable"),
    ("html500", openai.InternalServerError, 500, None),
    ("502", openai.InternalServerError, 502, None),
]


@pytest.mark.parametrize(("kind", "exc_type", "status", "code"), FAULTS)
def test_qwen_faults_raise_typed_openai_errors(ds, kind, exc_type, status, code):
    ds.push(fx.fault(kind, retry_after=7))
    with pytest.raises(exc_type) as info:
        list(qwen(ds).stream("hi"))
    exc = info.value
    assert exc.status_code == status and exc.code == code
    assert exc.response.headers["retry-after"] == "7"
    ctype = "application/json" if code else "text/html"  # gateway pages: body is the HTML str
    assert exc.response.headers["content-type"].startswith(ctype)
    assert isinstance(exc.body, dict) if code else exc.body.startswith("<!DOCTYPE html>")
    assert isinstance(exc, ModelError)  # langchain-openai also tags a provider-neutral class
    assert len(ds.chat_requests) == 1  # max_retries=0: no hidden retry


def test_openai_client_retries_even_quota_errors_by_default(ds):
    ds.push(fx.fault("quota", retry_after_ms=10), fx.fault("quota", retry_after_ms=10))
    llm = ChatQwen(model="qwen-plus", api_key=KEY, api_base=ds.base_url, streaming=True)
    assert llm.max_retries is None  # -> the openai client's own default of 2 retries
    assert collect(llm.stream("hi"))[1].content == "echo: hi"
    assert len(ds.chat_requests) == 3


def test_output_inspection_midstream_raises_plain_apierror_after_partial_text(ds):
    ds.push(fx.inspection_midstream("部分回答 partial "))
    got, exc = stream_until_error(qwen(ds).stream("hi"))
    assert got == "部分回答 partial " and type(exc) is openai.APIError  # no status code
    assert exc.code == "data_inspection_failed"
    assert exc.message.startswith("Output data may contain inappropriate content")


def test_cut_stream_raises_connection_error_from_incomplete_chunked_read(ds):
    ds.push(fx.cut_stream("半截回答 cut "))
    got, exc = stream_until_error(qwen(ds).stream("hi"))
    assert got == "半截回答 cut " and isinstance(exc, openai.APIConnectionError)
    assert "RemoteProtocolError: peer closed connection" in chain_text(exc)
    assert "(incomplete chunked read)" in chain_text(exc)


def test_hang_gives_read_timeout(ds):
    ds.push(fx.hang(5))
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        list(qwen(ds, timeout=0.3).stream("hi"))
    assert time.monotonic() - start < 3


def test_malformed_sse_is_tolerated_except_a_non_json_data_line(ds):
    ds.push(fx.malformed_sse("tolerated answer", bad_json=False))
    _, msg = collect(qwen(ds).stream("hi"))
    assert msg.content == "tolerated answer"
    ds.push(fx.malformed_sse("never finished"))
    got, exc = stream_until_error(qwen(ds).stream("hi"))
    assert isinstance(exc, json.JSONDecodeError) and "never finished".startswith(got)


def test_non_streaming_json_answer_and_thinking_refusal(ds):
    ds.push(fx.text("一次性回答"))
    msg = qwen(ds, streaming=False).invoke("hi")
    assert msg.content == "一次性回答" and not ds.chat_requests[-1].body.get("stream")
    assert msg.response_metadata["token_usage"]["completion_tokens"] > 0
    llm = qwen(ds, model="qwen3-8b", enable_thinking=True, streaming=False)
    with pytest.raises(openai.BadRequestError, match="enable_thinking"):  # as DashScope does
        llm.invoke("hi")
    assert ds.chat_requests[-1].body["enable_thinking"] is True


def test_default_responder_drives_a_tool_then_answer_loop(ds):
    def responder(body):
        last = body["messages"][-1]
        if last["role"] == "tool":
            return fx.text(f"done: {last['content']}")
        return fx.tool_calls([("get_weather", {"city": "杭州"})])

    ds.default = responder
    bound = qwen(ds).bind_tools([get_weather])
    _, first = collect(bound.stream([HumanMessage("天气？")]))
    call = first.tool_calls[0]
    result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
    _, second = collect(bound.stream([HumanMessage("天气？"), first, result]))
    assert second.content == f"done: {result.content}"
    sent = ds.chat_requests[-1].body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == call["id"] == sent[2]["tool_call_id"]


def test_chatopenai_against_the_compatible_endpoint_echoes(ds):
    llm = ChatOpenAI(model="qwen-plus", base_url=ds.base_url, api_key=KEY, max_retries=0)
    assert llm.invoke("ping").content == "echo: ping"
    assert "".join(c.content for c in llm.stream("pong")) == "echo: pong"


# --- DashScope embeddings -----------------------------------------------------------------


@pytest.fixture
def native_sdk(ds, monkeypatch):
    monkeypatch.setattr(dashscope, "base_http_api_url", ds.http_base_url)
    monkeypatch.setattr(dashscope, "api_key", dashscope.api_key)  # DashScopeEmbeddings sets it
    return ds


def dashscope_embeddings(**kw):
    with warnings.catch_warnings():  # langchain-community announces its sunset on import
        warnings.simplefilter("ignore", DeprecationWarning)
        from langchain_community.embeddings import DashScopeEmbeddings
    return DashScopeEmbeddings(model="text-embedding-v4", dashscope_api_key=KEY, **kw)


def embed_native(**kw):
    return dashscope.TextEmbedding.call(model="text-embedding-v4", api_key=KEY, **kw)


def test_dashscope_embeddings_batch_by_ten_and_are_deterministic(native_sdk):
    emb = dashscope_embeddings()
    texts = [f"第{i}条 refund policy note" for i in range(23)]
    vecs = emb.embed_documents(texts)
    reqs = native_sdk.embedding_requests
    assert [len(r.body["input"]["texts"]) for r in reqs] == [10, 10, 3]
    assert reqs[0].headers["authorization"] == f"Bearer {KEY}"
    assert all(len(v) == 1024 and abs(math.hypot(*v) - 1) < 1e-6 for v in vecs)
    assert emb.embed_query(texts[3]) == vecs[3] and vecs[0] != vecs[1]
    assert native_sdk.embedding_requests[-1].body["parameters"]["text_type"] == "query"


def test_native_embedding_endpoint_rejects_more_than_ten_texts(native_sdk):
    resp = embed_native(input=["x"] * 11)
    assert resp.status_code == 400 and resp.code == "InvalidParameter"
    assert "larger than 10" in resp.message
    ok = embed_native(input="短文本", dimension=64)
    assert ok.status_code == 200 and len(ok.output["embeddings"][0]["embedding"]) == 64


def test_dashscope_embedding_faults(native_sdk):
    emb = dashscope_embeddings(max_retries=1)
    native_sdk.push_embedding_fault("rate_limit")
    with pytest.raises(requests.HTTPError, match="Throttling.RateQuota"):
        emb.embed_documents(["x"])
    native_sdk.push_embedding_fault("auth")
    with pytest.raises(ValueError, match="InvalidApiKey"):
        emb.embed_documents(["x"])
    assert len(emb.embed_documents(["after faults"])) == 1


def test_compatible_embeddings_base64_match_native_vectors(native_sdk):
    kw = {"check_embedding_ctx_length": False, "max_retries": 0, "dimensions": 256}
    oe = OpenAIEmbeddings(
        model="text-embedding-v4", base_url=native_sdk.base_url, api_key=KEY, **kw
    )
    compat = oe.embed_documents(["退款政策", "hello"])
    sent = native_sdk.embedding_requests[-1].body
    assert sent["encoding_format"] == "base64" and sent["dimensions"] == 256
    ref = embed_native(input="退款政策", dimension=256).output["embeddings"][0]["embedding"]
    assert len(compat[0]) == 256 and compat[0] == pytest.approx(ref, abs=1e-6)
    with pytest.raises(openai.BadRequestError, match="larger than 10"):
        oe.embed_documents([str(i) for i in range(11)])


def test_native_generation_returns_search_sources_to_the_dashscope_sdk(native_sdk):
    pages = [{"title": "杭州天气", "url": "https://tianqi.example/hz", "site_name": "eastday"}]
    search = {"enable_source": True, "forced_search": True}
    native_sdk.push(fx.searched("明天小雨。", pages), fx.searched("明天小雨。", pages))
    msgs = [{"role": "user", "content": "杭州明天天气"}]
    kw = {"model": "qwen-plus", "messages": msgs, "api_key": KEY, "result_format": "message"}
    resp = dashscope.Generation.call(enable_search=True, search_options=search, **kw)
    assert resp.status_code == 200 and resp.output.choices[0].message.content == "明天小雨。"
    [hit] = resp.output.search_info["search_results"]
    assert (hit["index"], hit["title"], hit["url"]) == (1, "杭州天气", pages[0]["url"])
    sent = native_sdk.generation_requests[-1].body["parameters"]
    assert sent["enable_search"] is True and sent["search_options"] == search
    chunks = list(
        dashscope.Generation.call(
            enable_search=True, search_options=search, stream=True, incremental_output=True, **kw
        )
    )
    assert chunks[0].output.search_info["search_results"][0]["url"] == pages[0]["url"]
    assert "".join(c.output.choices[0].message.content for c in chunks) == "明天小雨。"
    assert all(c.output.search_info["search_results"] == [] for c in chunks[1:])


# --- ChatOllama / OllamaEmbeddings over Ollama's NDJSON API -------------------------------


def test_ollama_streams_text_with_usage(ol):
    answer = "Hello from Ollama 你好"
    ol.push(fx.text(answer, chunk=4))
    chunks, msg = collect(ChatOllama(model="qwen3:0.6b", base_url=ol.base_url).stream("hi"))
    assert msg.content == answer and sum(1 for c in chunks if c.content) > 1
    assert msg.usage_metadata["input_tokens"] == msg.response_metadata["prompt_eval_count"] > 0
    assert msg.response_metadata["done_reason"] == "stop"
    body = ol.chat_requests[-1].body
    assert body["model"] == "qwen3:0.6b" and body["stream"] is True


THINK_MODES = [(True, False, True), (None, True, False), (False, False, False)]


@pytest.mark.parametrize(("reasoning", "inline", "separate"), THINK_MODES)
def test_ollama_thinking_modes(ol, reasoning, inline, separate):
    ol.push(fx.text("答案是42", reasoning="让我想想"))
    llm = ChatOllama(model="qwen3:0.6b", base_url=ol.base_url, reasoning=reasoning)
    _, msg = collect(llm.stream("q"))
    assert ("<think>让我想想</think>" in msg.content) is inline
    assert (msg.additional_kwargs.get("reasoning_content") == "让我想想") is separate
    assert msg.content.endswith("答案是42")
    assert ol.chat_requests[-1].body.get("think") == reasoning


def test_ollama_tool_calls(ol):
    ol.push(fx.tool_calls(TWO_CALLS))
    llm = ChatOllama(model="qwen3:0.6b", base_url=ol.base_url).bind_tools([get_weather, get_time])
    _, msg = collect(llm.stream("weather and time"))
    assert [(tc["name"], tc["args"]) for tc in msg.tool_calls] == TWO_CALLS
    assert len({tc["id"] for tc in msg.tool_calls}) == 2
    sent = ol.chat_requests[-1].body["tools"]
    assert [t["function"]["name"] for t in sent] == ["get_weather", "get_time"]


def test_ollama_capabilities_version_and_tool_refusal(ol):
    client = ollama.Client(host=ol.base_url)
    assert client.show("qwen3:0.6b").capabilities == ["completion", "tools", "thinking"]
    assert client.show("gemma3:1b").capabilities == ["completion"]
    with pytest.raises(ollama.ResponseError) as missing:
        client.show("missing:1b")
    assert missing.value.status_code == 404
    with pytest.raises(ollama.ResponseError, match="does not support tools") as refused:
        ChatOllama(model="gemma3:1b", base_url=ol.base_url).bind_tools([get_weather]).invoke("x")
    assert refused.value.status_code == 400
    assert httpx.get(f"{ol.base_url}/api/version", trust_env=False).json() == {"version": "0.17.1"}
    ol.version = "0.6.0"
    ol.models["tiny:1b"] = ["completion"]
    assert client.list().models[-1].model == "tiny:1b"
    assert httpx.get(f"{ol.base_url}/api/version", trust_env=False).json()["version"] == "0.6.0"


def test_ollama_faults(ol):
    llm = ChatOllama(model="qwen3:0.6b", base_url=ol.base_url)
    ol.push(fx.cut_stream("partial "))
    got, exc = stream_until_error(llm.stream("x"))
    assert got == "partial " and isinstance(exc, httpx.RemoteProtocolError)  # not wrapped
    ol.push(fx.tool_calls([("get_weather", '{"url": "http://ex')]))
    with pytest.raises(ollama.ResponseError, match="error parsing tool call"):
        llm.bind_tools([get_weather]).invoke("x")
    ol.push(fx.fault("503"))
    with pytest.raises(ollama.ResponseError) as busy:
        llm.invoke("x")
    assert busy.value.status_code == 503
    ol.push(fx.hang(5))
    slow = ChatOllama(model="qwen3:0.6b", base_url=ol.base_url, client_kwargs={"timeout": 0.3})
    with pytest.raises(httpx.ReadTimeout):
        slow.invoke("x")
    ol.push(fx.split_utf8("你好😀"))
    assert llm.invoke("x").content == "你好😀"


def test_ollama_embeddings_are_deterministic_and_lexically_similar(ol):
    emb = OllamaEmbeddings(model="qwen3-embedding:0.6b", base_url=ol.base_url)
    a, b, c = emb.embed_documents(["退款政策", "退款政策的说明", "weather in Paris"])
    assert emb.embed_query("退款政策") == a
    assert fx.cosine(a, b) > 0.5 > fx.cosine(a, c)
    small = OllamaEmbeddings(model="qwen3-embedding:0.6b", base_url=ol.base_url, dimensions=128)
    assert len(small.embed_query("x")) == 128
    assert ol.requests_to("/api/embed")[-1].body["dimensions"] == 128
