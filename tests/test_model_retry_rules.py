"""Our rules on top of langchain's retry and fallback middleware, through the real ChatQwen client."""

from __future__ import annotations

import threading
import time

import pytest
from langchain_core.messages import AIMessage

from agent_app import events as ev
from agent_app.wiring import open_service
from tests.conftest import CANARY
from tests.fakes import FakeDashScope, cut_stream, fault, text
from tests.helpers import collect, scripted_service
from tests.scripted_model import ScriptedChatModel

pytestmark = [pytest.mark.integration, pytest.mark.slow]


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
    svc = open_service(settings.with_overrides(**{**values, **over}), tools=[])
    return svc, svc.new_thread("u").id


def test_no_fallback_and_no_retry_after_answer_text(settings, fake) -> None:
    fake.push(cut_stream("半句话"), text("from fallback"))
    svc, th = _svc(settings, fake, fallback_model="qwen-turbo")
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.errors[-1].kind == "interrupted" and len(fake.chat_requests) == 1
    assert "from fallback" not in res.text
    assert not any(isinstance(e, ev.Notice) for e in res.events)


@pytest.mark.parametrize("kind", ["auth", "inspection", "quota"])
def test_auth_quota_and_inspection_are_never_retried(settings, fake, kind) -> None:
    fake.push(fault(kind), text("never"))
    svc, th = _svc(settings, fake)
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.errors and len(fake.chat_requests) == 1


def test_the_fallback_model_gets_its_own_retries(settings, fake) -> None:
    fake.push(*[fault("503")] * 3, fault("503"), text("second try of the fallback"))
    svc, th = _svc(settings, fake, fallback_model="qwen-turbo")
    res = collect(svc.stream(th, "hello", user_id="u"))
    assert res.text == "second try of the fallback"
    assert [r.json["model"] for r in fake.chat_requests][-2:] == ["qwen-turbo", "qwen-turbo"]
    usage = [e for e in res.events if isinstance(e, ev.Usage)]
    assert usage and usage[-1].model.endswith("qwen-turbo")


def test_the_global_semaphore_bounds_parallel_model_calls(settings) -> None:
    inside, peak, lock = [0], [0], threading.Lock()

    def slow_answer(messages):
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.2)
        with lock:
            inside[0] -= 1
        return AIMessage("ok")

    model = ScriptedChatModel(default=slow_answer)
    svc = scripted_service(settings.with_overrides(max_concurrent_model_calls=1), model)
    threads_ = [svc.new_thread("u").id for _ in range(3)]
    runs = [
        threading.Thread(target=lambda t=t: collect(svc.stream(t, "hi", user_id="u")))
        for t in threads_
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    assert peak[0] == 1 and len(model.seen) == 3
