"""DashScope Qwen-TTS (native `multimodal-generation`): text in, a short-lived WAV URL out, faults included.

Request: `{"model", "input": {"text", "voice", "language_type"}}`. Answer:
`{"output": {"finish_reason": "stop", "audio": {"url", "id", "expires_at", "data": ""}}, "usage": …}`;
the URL (an OSS object in the real service, here `/oss/…` on the same fake) serves the WAV
(24 kHz, 16-bit mono) without authorization, until it expires.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
import wave
from collections import deque
from typing import Any

from ._http import RecordedRequest, Reply, json_reply
from .dashscope_errors import html_reply, native_error, render_fault, request_id
from .script import Fault

PATH = "/api/v1/services/aigc/multimodal-generation/generation"
AUDIO_PREFIX = "/oss/"
MAX_CHARS = 600
"""Longer input is refused, as qwen3-tts-flash does."""
RATE, FRAMES_PER_CHAR = 24000, 240
VOICES = frozenset({"Cherry", "Serena", "Ethan", "Chelsie"})
TTS_FAULTS = frozenset({"no_audio", "audio_gone", "not_wav"})
"""Beyond the usual DashScope faults: an answer without a URL, a URL that 404s, one serving HTML."""


def wav(chars: int) -> bytes:
    """A recording as long as `chars` characters take to say (10 ms each), of silence."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"\x00\x00" * (chars * FRAMES_PER_CHAR))
    return out.getvalue()


class Synthesizer:
    """The TTS part of FakeDashScope: answers, the clips its URLs serve, scripted faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[Fault | Reply | str] = deque()
        self._clips: dict[str, bytes | None] = {}

    def push_fault(self, kind: Fault | Reply | str) -> None:
        """The next synthesis fails: a DashScope fault, a raw Reply (hang()), or a TTS_FAULTS name."""
        with self._lock:
            self._faults.append(kind)

    def synthesize(self, req: RecordedRequest, root_url: str) -> Reply:
        with self._lock:
            flt = self._faults.popleft() if self._faults else None
        if isinstance(flt, Reply):
            return flt
        if isinstance(flt, Fault):
            return render_fault(flt, req.path, req.headers.get("authorization", ""))
        body: dict[str, Any] = req.body if isinstance(req.body, dict) else {}
        data = body.get("input") or {}
        text, voice = data.get("text"), data.get("voice")
        if not body.get("model") or not isinstance(text, str) or not text:
            return json_reply(400, native_error("InvalidParameter", "input.text is required"))
        if len(text) > MAX_CHARS:
            message = f"Range of input length should be [0, {MAX_CHARS}]"
            return json_reply(400, native_error("InvalidParameter", message))
        if voice not in VOICES:
            return json_reply(400, native_error("InvalidParameter", f"Voice {voice!r} not found"))
        clip_id = f"audio_{uuid.uuid4()}"
        with self._lock:
            self._clips[clip_id] = None if flt == "audio_gone" else wav(len(text))
            if flt == "not_wav":
                self._clips[clip_id] = b"<html><body>AccessDenied</body></html>"
        audio = {"data": "", "expires_at": int(time.time()) + 86400, "id": clip_id}
        if flt != "no_audio":
            audio["url"] = f"{root_url}{AUDIO_PREFIX}{clip_id}.wav?Expires=1&Signature=fake"
        usage = {"characters": len(text), "input_tokens": len(text), "output_tokens": len(text)}
        return json_reply(
            200,
            {
                "output": {"finish_reason": "stop", "audio": audio},
                "usage": usage,
                "request_id": request_id(),
            },
        )

    def audio(self, path: str) -> Reply:
        clip_id = path[len(AUDIO_PREFIX) :].split("?")[0].removesuffix(".wav")
        with self._lock:
            clip = self._clips.get(clip_id)
        if clip is None:
            return html_reply(404, "Not Found")
        kind = "audio/wav" if clip.startswith(b"RIFF") else "text/html"
        return Reply(status=200, headers={"Content-Type": kind}, parts=[clip])
