"""A provider error that echoes the Authorization header leaks the key nowhere (RELIABILITY H1, J4)."""

from __future__ import annotations

import io
import logging

import pytest

from agent_app.logsetup import RedactingFilter, redact, register_configured_secrets
from agent_app.settings import Settings
from tests.conftest import CANARY
from tests.fakes import FakeDashScope, fault, text
from tests.test_cli import cli, events

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_echoed_key_in_a_failed_memory_extraction_reaches_no_log_event_or_file(data_dir) -> None:
    with FakeDashScope() as fake:
        # The answer streams fine; the background extraction call gets the echoing error.
        fake.push(text("好的，记住了。"), fault("bad_request", echo_auth=True))
        env = {
            "DASHSCOPE_API_KEY": CANARY,
            "DASHSCOPE_API_BASE": fake.base_url,
            "AGENT_APP_TOOLS_DIRS": "",
            "AGENT_APP_MEMORY_EXTRACT": "true",
            "AGENT_APP_LOG_LEVEL": "INFO",
        }
        proc = cli(data_dir, "chat", "--json", "我叫小明，住在杭州", env=env)
        assert len(fake.chat_requests) == 2, proc.stderr  # the extraction call did run
        echoed = fake.chat_requests[1].headers["authorization"]
        # And a turn that fails on the same echoing error.
        fake.push(fault("bad_request", echo_auth=True))
        failed = cli(data_dir, "chat", "--json", "再说一遍", env=env)
    assert proc.returncode == 0, proc.stderr
    assert events(proc)[-1]["type"] == "done"
    assert CANARY in echoed  # the fake really had the key to echo
    assert "memory extraction" in proc.stderr  # the failure is logged ...
    assert CANARY not in proc.stdout and CANARY not in proc.stderr  # ... without the key
    assert "Traceback" not in proc.stderr  # provider failures are logged without exc_info
    assert failed.returncode == 1 and events(failed)[-1]["type"] == "error"
    assert CANARY not in failed.stdout + failed.stderr and "Traceback" not in failed.stderr
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path.name


def _logger_with_stream() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("agent_app.test_secrets")
    logger.handlers[:] = [handler]
    logger.propagate = False
    return logger, stream


def test_tracebacks_and_stacks_are_redacted_too() -> None:
    key = "dashscope-plain-key-4242"  # no sk- prefix: only registration can catch it
    register_configured_secrets(Settings(dashscope_api_key=key, openai_api_key="oa-plain-9999"))
    logger, stream = _logger_with_stream()
    try:
        raise RuntimeError(f"upstream said: Authorization: Bearer {key}; also {CANARY}")
    except RuntimeError:
        logger.warning("call failed", exc_info=True)
        logger.error("again", stack_info=True, extra={"note": key})
    logger.warning("other key %s", "oa-plain-9999")
    out = stream.getvalue()
    assert "Traceback" in out and "RuntimeError" in out and "Stack (most recent call last)" in out
    assert key not in out and CANARY not in out and "oa-plain-9999" not in out
    assert redact(f"x {key} y") == "x *** y"
