"""LangSmith tracing: off by default; on, it carries no conversation text and no provider key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent_app.tracing import redact_traces
from tests.conftest import CANARY

pytestmark = pytest.mark.integration
USER_TEXT = "my-private-question-7319"
_INFO = {
    "batch_ingest_config": {
        "use_multipart_endpoint": False,
        "size_limit": 100,
        "size_limit_bytes": 20_971_520,
        "scale_up_qsize_trigger": 1000,
        "scale_up_nthreads_limit": 16,
        "scale_down_nempty_trigger": 4,
    }
}


class FakeLangSmith:
    """A loopback LangSmith API that records what the tracer sends."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, body: bytes = b"{}") -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._reply(json.dumps(_INFO).encode() if "/info" in self.path else b"{}")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.posts.append((self.path, body))
                self._reply()

            do_PATCH = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def langsmith():
    fake = FakeLangSmith()
    yield fake
    fake.close()


def _chat(tmp_path, langsmith, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AGENT_APP_", "LANGSMITH_", "LANGCHAIN_", "DASHSCOPE_"))
    }
    env.update(
        {
            "LANGSMITH_ENDPOINT": langsmith.url,
            "LANGSMITH_API_KEY": "ls-test-key",
            "AGENT_APP_MEMORY_EXTRACT": "false",
            "AGENT_APP_PROVIDER": "offline",  # no provider request leaves the machine
            "DASHSCOPE_API_KEY": CANARY,  # a configured key the traces must not carry
            **env_extra,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(tmp_path / "d")]
        + ["chat", "--json", USER_TEXT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _sent(langsmith, wait_s: float = 3.0) -> bytes:
    deadline = time.monotonic() + wait_s
    while not langsmith.posts and time.monotonic() < deadline:
        time.sleep(0.1)
    return b"".join(body for _, body in langsmith.posts)


def test_off_by_default_nothing_is_sent(tmp_path, langsmith) -> None:
    out = _chat(tmp_path, langsmith)
    assert out.returncode == 0, out.stderr[-2000:]
    assert _sent(langsmith, 1.0) == b""


def test_on_the_traces_carry_no_conversation_text_and_no_key(tmp_path, langsmith) -> None:
    out = _chat(tmp_path, langsmith, LANGSMITH_TRACING="true")
    assert out.returncode == 0, out.stderr[-2000:]
    sent = _sent(langsmith)
    assert sent  # the operator asked for traces: they are sent ...
    assert USER_TEXT.encode() not in sent  # ... without what the user wrote
    assert CANARY.encode() not in sent


def test_content_only_when_the_operator_asks(tmp_path, langsmith) -> None:
    out = _chat(tmp_path, langsmith, LANGSMITH_TRACING="true", AGENT_APP_TRACE_CONTENT="true")
    assert out.returncode == 0, out.stderr[-2000:]
    sent = _sent(langsmith)
    assert USER_TEXT.encode() in sent and CANARY.encode() not in sent


def test_an_explicit_hide_setting_is_the_operators() -> None:
    env = {"LANGCHAIN_TRACING_V2": "true", "LANGSMITH_HIDE_OUTPUTS": "false"}
    assert redact_traces(False, env)
    assert env["LANGSMITH_HIDE_INPUTS"] == "true" and env["LANGSMITH_HIDE_OUTPUTS"] == "false"
    assert not redact_traces(False, {}) and not redact_traces(True, {"LANGSMITH_TRACING": "true"})
