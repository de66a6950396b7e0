"""Speech to text for a message: DashScope's Qwen-ASR, or any OpenAI-compatible transcription server.

`AGENT_APP_ASR_MODEL` (e.g. `qwen3-asr-flash`) goes to DashScope's OpenAI-compatible chat endpoint
with the audio as an `input_audio` part; `AGENT_APP_ASR_URL` (a `/v1` base) goes to its
`/audio/transcriptions` instead. The recording is checked by its bytes and its size first.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from agent_app.errors import AppError
from agent_app.settings import Settings

AUDIO_MAGIC = (
    (b"RIFF", "audio/wav"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"\xff\xf3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"\x1aE\xdf\xa3", "audio/webm"),
)


class SpeechError(AppError):
    """A recording that cannot be transcribed: no recogniser, not audio, or the service failed."""

    kind, key = "speech", "error.speech_failed"


def audio_type(raw: bytes) -> str:
    """The recording's MIME type from its first bytes; SpeechError when it is not audio we take."""
    if raw[4:8] == b"ftyp":
        return "audio/mp4"
    for magic, mime in AUDIO_MAGIC:
        if raw.startswith(magic) and (magic != b"RIFF" or raw[8:12] == b"WAVE"):
            return mime
    raise SpeechError("not audio", key="error.speech_type")


def transcribe(settings: Settings, raw: bytes) -> str:
    """The words spoken in a recording (WAV, MP3, OGG, FLAC, M4A, WebM)."""
    if not settings.asr_model and not settings.asr_url:
        raise SpeechError("no recogniser", key="error.speech_not_configured")
    if not raw:
        raise SpeechError("empty", key="error.speech_type")
    limit = int(settings.max_audio_mb * 1_000_000)
    if len(raw) > limit:
        raise SpeechError("too big", key="error.speech_too_big", limit=f"{settings.max_audio_mb:g}")
    mime = audio_type(raw)
    try:
        with httpx.Client(timeout=settings.request_timeout, trust_env=False) as client:
            if settings.asr_url:
                return _openai(client, settings, raw, mime)
            return _dashscope(client, settings, raw, mime)
    except httpx.HTTPError:
        raise SpeechError("transport") from None


def _dashscope(client: httpx.Client, settings: Settings, raw: bytes, mime: str) -> str:
    if settings.dashscope_api_key is None:
        raise SpeechError("no key", key="error.speech_not_configured")
    data_url = f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"
    body = {
        "model": settings.asr_model,
        "stream": False,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "input_audio", "input_audio": {"data": data_url}}],
            }
        ],
    }
    key = settings.dashscope_api_key.get_secret_value()
    resp = client.post(
        settings.dashscope_base.rstrip("/") + "/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    )
    data = _json(resp)
    choices = data.get("choices") or [{}]
    return _text((choices[0].get("message") or {}).get("content"))


def _openai(client: httpx.Client, settings: Settings, raw: bytes, mime: str) -> str:
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "none"
    resp = client.post(
        settings.asr_url.rstrip("/") + "/audio/transcriptions",
        files={"file": ("audio", raw, mime)},
        data={"model": settings.asr_model or "whisper-1"},
        headers={"Authorization": f"Bearer {key}"},
    )
    return _text(_json(resp).get("text"))


def _json(resp: httpx.Response) -> dict[str, Any]:
    if resp.status_code in (401, 403):
        raise SpeechError("refused", key="error.provider_auth")
    if resp.status_code >= 400:
        raise SpeechError(f"HTTP {resp.status_code}")
    try:
        data = resp.json()
    except ValueError:
        raise SpeechError("not JSON") from None
    return data if isinstance(data, dict) else {}


def _text(content: Any) -> str:
    if isinstance(content, list):  # content parts
        content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    text = str(content or "").strip()
    if not text:
        raise SpeechError("nothing heard", key="error.speech_empty")
    return text
