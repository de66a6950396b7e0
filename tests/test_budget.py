"""Budgets on real SQLite and PostgreSQL: tokens per day and turns per minute, durable, per user."""

from __future__ import annotations

import time

import pytest

from agent_app import events as ev
from agent_app.budget import (
    QuotaExceededError,
    admission_error,
    default_limits,
    metered,
    open_ledger,
)
from agent_app.settings import Settings

pytestmark = pytest.mark.unit


def usage(tokens_in: int, tokens_out: int) -> ev.Usage:
    return ev.Usage(tokens_in, tokens_out, 5.0, "qwen-plus")


def test_defaults_are_unlimited_alone_and_bounded_once_signed_in(data_dir):
    alone = default_limits(Settings(data_dir=data_dir))
    team = default_limits(Settings(data_dir=data_dir, auth="password"))
    explicit = default_limits(
        Settings(data_dir=data_dir, auth="oidc", daily_token_budget=0, requests_per_minute=5)
    )
    assert (alone.daily_tokens, alone.rpm) == (0, 0)
    assert team.daily_tokens > 0 and team.rpm > 0
    assert (explicit.daily_tokens, explicit.rpm) == (0, 5)


def test_token_budget_refuses_the_next_turn_and_survives_a_restart(db_settings):
    settings = db_settings.with_overrides(daily_token_budget=100)
    ledger = open_ledger(settings)
    ledger.admit("alice")
    events = list(metered(iter([ev.Token("hi"), usage(70, 40), ev.Done("m1")]), ledger, "alice"))
    assert [e.type for e in events] == ["token", "usage", "done"]
    ledger.close()
    reopened = open_ledger(settings)
    assert reopened.tokens_today("alice") == 110
    with pytest.raises(QuotaExceededError) as info:
        reopened.admit("alice")
    assert info.value.kind == "quota_exceeded" and "100" in info.value.user_message("en")
    reopened.admit("bob")  # another user's spending is not alice's
    refusal = admission_error(reopened, "alice", "zh")
    assert refusal is not None and refusal.kind == "quota_exceeded" and "100" in refusal.message
    reopened.close()


def test_requests_per_minute_window(db_settings):
    ledger = open_ledger(db_settings.with_overrides(requests_per_minute=2))
    ledger.admit("alice", now=1000.0)
    ledger.admit("alice", now=1010.0)
    with pytest.raises(QuotaExceededError) as info:
        ledger.admit("alice", now=1020.0)
    assert "40 s" in info.value.user_message("en")  # the first slot frees 40 s later
    ledger.admit("bob", now=1020.0)
    ledger.admit("alice", now=1061.0)  # the first request left the window
    ledger.close()


def test_an_admin_override_beats_the_default_and_can_be_cleared(db_settings):
    ledger = open_ledger(db_settings.with_overrides(auth="password", daily_token_budget=50))
    ledger.record("carol", usage(40, 20))
    with pytest.raises(QuotaExceededError):
        ledger.admit("carol")
    assert ledger.set_limits("carol", 10_000, None).daily_tokens == 10_000
    ledger.admit("carol")
    assert ledger.set_limits("carol", None, None).daily_tokens == 50
    assert ledger.set_limits("carol", 0, 0).daily_tokens == 0  # explicitly unlimited
    ledger.admit("carol")
    ledger.close()


def test_usage_rows_per_user_per_day(db_settings):
    ledger = open_ledger(db_settings)
    for user, n in (("alice", 10), ("bob", 3), ("alice", 5)):
        ledger.admit(user)
        ledger.record(user, usage(n, n))
    rows = {r["user_id"]: r for r in ledger.usage()}
    assert rows["alice"]["input_tokens"] == 15 and rows["alice"]["requests"] == 2
    assert rows["bob"]["output_tokens"] == 3 and rows["bob"]["requests"] == 1
    assert [r["user_id"] for r in ledger.usage("bob")] == ["bob"]
    ledger.close()


# ---- through the real ChatService, ChatQwen and the DashScope loopback fake ----------------


@pytest.fixture
def fake():
    from tests.fakes import FakeDashScope

    with FakeDashScope() as server:
        yield server


def _service(settings, fake, **limits):
    from agent_app.wiring import open_service
    from tests.conftest import CANARY

    values = dict(
        provider="dashscope",
        dashscope_api_key=CANARY,
        dashscope_api_base=fake.base_url,
        max_retries=0,
        request_timeout=5.0,
    )
    values.update(limits)
    return open_service(settings.with_overrides(**values), tools=[])


def test_over_budget_mid_conversation_sends_nothing_and_keeps_the_conversation(db_settings, fake):
    from tests.fakes import text

    svc = _service(db_settings, fake, daily_token_budget=10)
    thread = svc.new_thread("alice").id
    fake.push(text("first answer", usage="always"))
    first = list(svc.stream(thread, "hello", user_id="alice", lang="en"))
    assert [e.type for e in first][-1] == "done" and any(e.type == "usage" for e in first)
    sent, before = len(fake.chat_requests), svc.messages("alice", thread)
    assert svc.budget.tokens_today("alice") >= 10  # counted from the usage event

    refused = list(svc.stream(thread, "and again?", user_id="alice", lang="en"))
    assert [(e.type, e.kind) for e in refused] == [("error", "quota_exceeded")]
    assert "budget" in refused[0].message and "Traceback" not in refused[0].message
    assert len(fake.chat_requests) == sent  # no provider request at all
    assert svc.messages("alice", thread) == before  # the refused text was not stored
    assert [e.type for e in svc.retry(thread, user_id="alice", lang="en")] == ["error"]
    assert len(fake.chat_requests) == sent

    bob_thread = svc.new_thread("bob").id  # another user's budget is untouched
    fake.push(text("hi bob", usage="always"))
    assert [e.type for e in svc.stream(bob_thread, "hi", user_id="bob")][-1] == "done"
    svc.close()


def test_turns_per_minute_limit_through_the_service(db_settings, fake):
    svc = _service(db_settings, fake, requests_per_minute=1)
    thread = svc.new_thread("alice").id
    assert [e.type for e in svc.stream(thread, "one", user_id="alice")][-1] == "done"
    sent = len(fake.chat_requests)
    refused = list(svc.stream(thread, "two", user_id="alice", lang="zh"))
    assert refused[0].kind == "quota_exceeded" and "每分钟" in refused[0].message
    assert len(fake.chat_requests) == sent
    svc.close()


# ---- background memory extraction: counted to the user, never a turn, not run over budget -----


def _usage_rows(svc, user):
    return {r["user_id"]: r for r in svc.budget.usage()}.get(user)


def test_extraction_tokens_count_to_the_user_but_take_no_turn(settings, fake):
    from tests.fakes import text

    svc = _service(
        settings, fake, requests_per_minute=2, daily_token_budget=100_000, memory_extract=True
    )
    thread = svc.new_thread("alice").id
    fake.push(text("noted: you like oolong", usage="always"))
    fake.push(text('["Likes oolong tea"]', usage="always"))  # the extraction model call
    events = list(svc.stream(thread, "I like oolong", user_id="alice"))
    assert events[-1].type == "done", events
    after_turn = svc.budget.tokens_today("alice")
    svc.last_extraction.result(timeout=30)
    assert len(fake.chat_requests) == 2  # the turn, then extraction
    assert svc.budget.tokens_today("alice") > after_turn  # extraction's tokens are alice's
    assert svc.budget.tokens_today("bob") == 0
    assert _usage_rows(svc, "alice")["requests"] == 1  # but it was not a turn
    # so it takes no slot of the turns-per-minute limit: a second turn in the minute still runs
    fake.push(text("second answer", usage="always"))
    fake.push(text("[]", usage="always"))
    assert [e.type for e in svc.stream(thread, "and?", user_id="alice")][-1] == "done"
    svc.last_extraction.result(timeout=30)
    svc.close()


def test_no_extraction_once_the_turn_spent_the_day(settings, fake):
    from tests.fakes import text

    svc = _service(settings, fake, daily_token_budget=10, memory_extract=True)
    thread = svc.new_thread("alice").id
    fake.push(text("a long enough answer to spend the budget", usage="always"))
    fake.push(text('["Likes oolong tea"]', usage="always"))
    assert [e.type for e in svc.stream(thread, "I like oolong", user_id="alice")][-1] == "done"
    if svc.last_extraction is not None:
        svc.last_extraction.result(timeout=30)
    assert len(fake.chat_requests) == 1  # no background provider call over budget
    assert svc.memory.list("alice") == []
    svc.close()


# ---- the other background calls: titles and summaries count too --------------------------------


def _wait_title(svc, thread_id):
    deadline = time.monotonic() + 20
    while svc.title_pending(thread_id) and time.monotonic() < deadline:
        time.sleep(0.02)


def test_title_tokens_count_to_the_user_but_take_no_turn(settings, fake):
    from tests.fakes import text

    svc = _service(settings, fake, daily_token_budget=100_000, title_model=True)
    thread = svc.new_thread("alice").id
    fake.push(text("Oolong is a partly oxidised tea.", usage="always"))
    fake.push(text("Oolong tea", usage="always"))  # the title call
    assert [e.type for e in svc.stream(thread, "What is oolong?", user_id="alice")][-1] == "done"
    after_turn = svc.budget.tokens_today("alice")
    _wait_title(svc, thread)
    assert len(fake.chat_requests) == 2 and svc.get_thread("alice", thread).title == "Oolong tea"
    assert svc.budget.tokens_today("alice") > after_turn  # the title's tokens are alice's
    assert _usage_rows(svc, "alice")["requests"] == 1 and svc.budget.tokens_today("bob") == 0
    svc.close()


def test_no_title_call_once_the_turn_spent_the_day(settings, fake):
    from tests.fakes import text

    svc = _service(settings, fake, daily_token_budget=10, title_model=True)
    thread = svc.new_thread("alice").id
    fake.push(text("a long enough answer to spend the budget", usage="always"))
    fake.push(text("Oolong tea", usage="always"))
    assert [e.type for e in svc.stream(thread, "What is oolong?", user_id="alice")][-1] == "done"
    _wait_title(svc, thread)
    assert len(fake.chat_requests) == 1  # no background provider call over budget
    assert svc.get_thread("alice", thread).title == "What is oolong?"  # the first message's
    svc.close()


def test_summary_tokens_count_to_the_user(settings, fake):
    from tests.fakes import text

    svc = _service(settings, fake, daily_token_budget=1_000_000, context_tokens=300)
    thread = svc.new_thread("alice").id
    shown = []
    for turn in range(6):
        fake.push(text("More detail about that topic. " * 12, usage="always"))
        events = list(svc.stream(thread, f"Tell me about topic {turn}.", user_id="alice"))
        assert events[-1].type == "done", events
        shown += [e for e in events if isinstance(e, ev.Usage)]
    summaries = [r for r in fake.chat_requests if b"Summarize the conversation" in r.raw]
    assert summaries  # the conversation outgrew its budget and was condensed
    assert len(shown) == len(fake.chat_requests)  # every provider call is shown with the turn
    assert svc.budget.tokens_today("alice") == sum(u.input_tokens + u.output_tokens for u in shown)
    svc.close()
