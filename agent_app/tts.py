"""Read-aloud of answers: DashScope's Qwen-TTS speech synthesis, returned as one WAV recording.

`AGENT_APP_TTS_MODEL` (e.g. `qwen3-tts-flash`) is sent to DashScope's native
`services/aigc/multimodal-generation/generation` with the text and a voice; the answer names a
short-lived URL of the WAV file, which is fetched at once. Long answers are read in pieces.
"""

from __future__ import annotations

import io
import re
import wave
from typing import Any

import httpx

from agent_app.errors import AppError
from agent_app.settings import Settings

PATH = "/services/aigc/multimodal-generation/generation"
PIECE_CHARS = 500
"""Qwen-TTS takes a few hundred characters per request: longer answers go in pieces."""
MAX_PIECES = 6
"""At most this many requests per answer (each is paid); the rest is not read."""
MAX_AUDIO_BYTES = 20_000_000
SPOKEN_INLINE = ("text", "code_inline")
"""Inline tokens that are read: plain text and short code; images and link targets are not."""
_SENTENCE_END = re.compile(r"(?<=[。！？；.!?;\n])")


class SpeechSynthesisError(AppError):
    """An answer that could not be read aloud: nothing to read, or the service failed."""

    kind, key = "tts", "error.tts_failed"


def spoken_text(markdown: str) -> str:
    """What of an answer is read: its words, without code blocks, link targets or markup."""
    from markdown_it import MarkdownIt

    words: list[str] = []
    for token in MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(markdown):
        if token.type == "inline":
            parts = token.children or []
            words.append("".join(_spoken(c) for c in parts))
    return "\n".join(w for w in words if w.strip())


def _spoken(token: Any) -> str:
    if token.type in SPOKEN_INLINE:
        return str(token.content)
    return " " if token.type in ("softbreak", "hardbreak") else ""


def pieces(text: str) -> tuple[list[str], bool]:
    """The text cut at sentence ends into request-sized pieces; True when some was left out."""
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        while sentence:
            head, sentence = sentence[:PIECE_CHARS], sentence[PIECE_CHARS:]
            if out and len(out[-1]) + len(head) <= PIECE_CHARS:
                out[-1] += head
            elif head.strip():
                out.append(head)
    kept = [p.strip() for p in out if p.strip()]
    return kept[:MAX_PIECES], len(kept) > MAX_PIECES


def synthesize(settings: Settings, text: str, lang: str) -> tuple[bytes, bool]:
    """The text spoken (WAV bytes), and whether only its beginning was read."""
    if not settings.tts_model or settings.dashscope_api_key is None:
        raise SpeechSynthesisError("not configured")
    parts, cut = pieces(spoken_text(text))
    if not parts:
        raise SpeechSynthesisError("nothing to read", key="error.tts_empty")
    try:
        with httpx.Client(timeout=settings.request_timeout, trust_env=False) as client:
            clips = [_speak(client, settings, part, lang) for part in parts]
    except httpx.HTTPError:
        raise SpeechSynthesisError("transport") from None
    return join_wav(clips), cut


def _speak(client: httpx.Client, settings: Settings, text: str, lang: str) -> bytes:
    from agent_app.knowledge.embedders import native_base

    assert settings.dashscope_api_key is not None
    body = {
        "model": settings.tts_model,
        "input": {
            "text": text,
            "voice": settings.tts_voice,
            "language_type": "Chinese" if lang == "zh" else "English",
        },
    }
    key = settings.dashscope_api_key.get_secret_value()
    resp = client.post(
        native_base(settings).rstrip("/") + PATH,
        json=body,
        headers={"Authorization": f"Bearer {key}"},
    )
    url = _audio_url(resp)
    with client.stream("GET", url) as got:
        if got.status_code != 200:
            raise SpeechSynthesisError(f"audio HTTP {got.status_code}")
        data = b""
        for chunk in got.iter_bytes():
            data += chunk
            if len(data) > MAX_AUDIO_BYTES:
                raise SpeechSynthesisError("audio too large")
    return data


def _audio_url(resp: httpx.Response) -> str:
    if resp.status_code in (401, 403):
        raise SpeechSynthesisError("refused", key="error.provider_auth")
    if resp.status_code == 429:
        raise SpeechSynthesisError("rate limited", key="error.rate_limited")
    if resp.status_code >= 400:
        raise SpeechSynthesisError(f"HTTP {resp.status_code}")
    try:
        data: Any = resp.json()
    except ValueError:
        raise SpeechSynthesisError("not JSON") from None
    audio = ((data.get("output") or {}) if isinstance(data, dict) else {}).get("audio") or {}
    url = str(audio.get("url") or "") if isinstance(audio, dict) else ""
    if not url.startswith(("https://", "http://")):
        raise SpeechSynthesisError("no audio URL")
    return url


def join_wav(clips: list[bytes]) -> bytes:
    """One WAV of the clips in order (they share the service's format)."""
    out = io.BytesIO()
    try:
        with wave.open(out, "wb") as joined:
            for index, clip in enumerate(clips):
                with wave.open(io.BytesIO(clip), "rb") as part:
                    if index == 0:
                        joined.setparams(part.getparams())
                    joined.writeframes(part.readframes(part.getnframes()))
    except (wave.Error, EOFError):
        raise SpeechSynthesisError("not WAV") from None
    return out.getvalue()
