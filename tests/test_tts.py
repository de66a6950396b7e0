"""Read-aloud: answers spoken by Qwen-TTS on the DashScope fake, in pieces, faults included."""

from __future__ import annotations

import io
import wave

import pytest

from agent_app.conversations import open_conversations
from agent_app.errors import AppError
from tests.conftest import CANARY
from tests.fakes import FakeDashScope, fault, hang
from tests.fakes.dashscope_tts import FRAMES_PER_CHAR, MAX_CHARS

pytestmark = pytest.mark.integration


@pytest.fixture
def fake():
    with FakeDashScope() as server:
        yield server


@pytest.fixture
def convs(settings, fake):
    c = open_conversations(
        settings.with_overrides(
            dashscope_api_key=CANARY,
            dashscope_api_base=fake.base_url,
            tts_model="qwen3-tts-flash",
            request_timeout=2.0,
        )
    )
    yield c
    c.close()


def _frames(audio: bytes) -> int:
    with wave.open(io.BytesIO(audio), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
        return w.getnframes()


def test_an_answer_is_read_without_its_markup_code_and_links(convs, fake):
    answer = (
        "Water it **every 9 days**, see [the guide](https://example.com/x).\n\n```\nrm -rf /\n```"
    )
    audio, cut = convs.read_aloud(answer, "en")
    [sent] = fake.tts_requests
    assert sent.json["model"] == "qwen3-tts-flash"
    assert sent.json["input"] == {
        "text": "Water it every 9 days, see the guide.",
        "voice": "Cherry",
        "language_type": "English",
    }
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert _frames(audio) == len(sent.json["input"]["text"]) * FRAMES_PER_CHAR and not cut


def test_a_long_answer_goes_in_pieces_joined_in_order_and_a_very_long_one_is_cut(convs, fake):
    sentence = "这是一个用来测试朗读的句子。"  # 14 characters
    audio, cut = convs.read_aloud(sentence * 100, "zh")  # 1,400 characters: over one request
    texts = [r.json["input"]["text"] for r in fake.tts_requests]
    assert len(texts) == 3 and all(len(t) <= MAX_CHARS for t in texts)
    assert "".join(texts) == sentence * 100 and not cut
    assert {r.json["input"]["language_type"] for r in fake.tts_requests} == {"Chinese"}
    assert _frames(audio) == 1400 * FRAMES_PER_CHAR
    fake.clear()
    _, cut = convs.read_aloud(sentence * 400, "zh")
    assert cut and len(fake.tts_requests) == 6  # the cost guard: the rest is not read


@pytest.mark.parametrize(
    ("script", "key"),
    [
        (fault("auth"), "error.provider_auth"),
        (fault("rate_limit"), "error.rate_limited"),
        (fault("500"), "error.tts_failed"),
        (fault("html500"), "error.tts_failed"),
        ("no_audio", "error.tts_failed"),
        ("audio_gone", "error.tts_failed"),
        ("not_wav", "error.tts_failed"),
        (hang(5), "error.tts_failed"),
    ],
)
def test_every_failure_is_a_short_message_without_the_key(convs, fake, script, key):
    fake.tts.push_fault(script)
    with pytest.raises(AppError) as caught:
        convs.read_aloud("Hello there.", "en")
    assert caught.value.key == key
    for code in ("en", "zh"):
        said = caught.value.user_message(code)
        assert said and CANARY not in said and "Traceback" not in said and "http" not in said


def test_nothing_to_read_and_not_configured(convs, settings):
    with pytest.raises(AppError) as caught:
        convs.read_aloud("```\nonly code\n```", "en")
    assert caught.value.key == "error.tts_empty"
    plain = open_conversations(settings)
    assert not plain.can_read_aloud() and convs.can_read_aloud()
    plain.close()
