"""Voice messages: a recording transcribed by Qwen-ASR (the DashScope fake) or an OpenAI-style server."""

from __future__ import annotations

import io
import json
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import CANARY
from tests.fakes import FakeDashScope, text
from tests.test_cli import _env, cli, events

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 1600)
    return out.getvalue()


@pytest.fixture
def fake():
    with FakeDashScope() as server:
        yield server


def test_a_recorded_message_is_transcribed_shown_and_sent(data_dir, fake, tmp_path):
    voice = tmp_path / "note.wav"
    voice.write_bytes(_wav())
    env = {**_env(fake), "AGENT_APP_ASR_MODEL": "qwen3-asr-flash"}
    fake.push(text("明天下午三点开会"), text("好的，已记下。"))
    proc = cli(data_dir, "chat", "--json", "--audio", str(voice), env=env)
    assert proc.returncode == 0, proc.stderr
    evs = events(proc)
    assert evs[1] == {"type": "notice", "kind": "transcript", "message": "明天下午三点开会"}
    asr, chat = (r.json for r in fake.chat_requests)
    assert asr["model"] == "qwen3-asr-flash" and asr["stream"] is False
    part = asr["messages"][0]["content"][0]
    assert part["type"] == "input_audio" and part["input_audio"]["data"].startswith(
        "data:audio/wav;base64,"
    )
    assert chat["messages"][-1]["content"] == "明天下午三点开会"
    assert CANARY not in proc.stdout + proc.stderr


def test_not_audio_or_no_recogniser_is_a_clear_error_and_no_conversation(data_dir, fake, tmp_path):
    bogus = tmp_path / "note.wav"
    bogus.write_text("hello")
    env = {**_env(fake), "AGENT_APP_ASR_MODEL": "qwen3-asr-flash"}
    proc = cli(data_dir, "chat", "--json", "--lang", "en", "--audio", str(bogus), env=env)
    [error] = events(proc)
    assert proc.returncode == 1 and error["kind"] == "speech" and "WAV" in error["message"]
    voice = tmp_path / "ok.wav"
    voice.write_bytes(_wav())
    proc = cli(data_dir, "transcribe", str(voice), env=_env(fake))
    assert proc.returncode == 1 and "AGENT_APP_ASR_MODEL" in proc.stderr
    assert fake.chat_requests == []
    assert json.loads(cli(data_dir, "threads", "list", "--json").stdout) == []


class Whisper(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/audio/transcriptions answering {"text": …}."""

    def log_message(self, *args):
        return None

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((self.path, self.headers.get("Content-Type", ""), body))
        payload = json.dumps({"text": "turn the lights off"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_transcribe_prints_what_an_openai_compatible_server_heard(data_dir, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Whisper)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    voice = tmp_path / "v.wav"
    voice.write_bytes(_wav())
    try:
        url = f"http://127.0.0.1:{server.server_port}/v1"
        proc = cli(data_dir, "transcribe", str(voice), env={"AGENT_APP_ASR_URL": url})
    finally:
        server.shutdown()
    assert proc.returncode == 0 and proc.stdout.strip() == "turn the lights off", proc.stderr
    [(path, ctype, body)] = server.seen
    assert path == "/v1/audio/transcriptions" and ctype.startswith("multipart/form-data")
    assert b"RIFF" in body and b'name="model"' in body
