"""Voice on the Chat page under AppTest: a recording from the chat box, transcribed into the box; read-aloud."""

from __future__ import annotations

import io
import uuid
import wave

import pytest
from streamlit.testing.v1.element_tree import ChatInput

from agent_app.i18n import t
from agent_app.wiring import open_service
from tests.conftest import CANARY
from tests.fakes import FakeDashScope, fault, text
from tests.test_ui_apptest import _app, _button, _texts

pytestmark = pytest.mark.integration


def _wav(seconds: float = 0.2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * int(16000 * seconds))
    return out.getvalue()


class _Recorded(ChatInput):
    """The chat box with a recording attached, as the browser sends it (AppTest has no call for it)."""

    recording: tuple[str, str, bytes, str]
    attaching = False

    def _get_files_to_register(self):
        files = super()._get_files_to_register()
        return files if self.attaching else [*files, self.recording]  # AppTest registers these

    @property
    def _widget_state(self):
        self.attaching = True  # the attached files only; the recording has its own field
        try:
            state = super()._widget_state
        finally:
            self.attaching = False
        file_id, name, content, _ = self.recording
        info = state.chat_input_value.audio_file_info
        info.file_id, info.name, info.size = file_id, name, len(content)
        info.file_urls.file_id = file_id
        info.file_urls.upload_url = f"/mock/upload/test session id/{file_id}"
        return state


def _record(at, audio: bytes, typed: str = ""):
    box = at.chat_input[0]
    box.__class__ = _Recorded
    box.recording = (str(uuid.uuid4()), "recording.wav", audio, "audio/wav")
    return box.set_value(typed).run()


@pytest.fixture
def fake():
    with FakeDashScope() as server:
        yield server


def _service(settings, fake, **values):
    return open_service(
        settings.with_overrides(
            provider="dashscope",
            model="qwen-plus",
            dashscope_api_key=CANARY,
            dashscope_api_base=fake.base_url,
            max_retries=0,
            request_timeout=5.0,
            allow_open=True,  # AppTest has no server address: the open-deployment guard asks
            **values,
        ),
        tools=[],
    )


def test_a_recording_is_put_in_the_box_to_edit_and_only_sent_when_the_user_sends_it(settings, fake):
    svc = _service(settings, fake, asr_model="qwen3-asr-flash")
    at = _app(svc, lang="en")
    assert at.chat_input[0].proto.accept_audio
    fake.push(text("meet at three tomorrow"))
    _record(at, _wav(), typed="Reminder:")
    assert not at.exception, at.exception
    [asr] = fake.chat_requests  # the recognition request only: nothing was sent to the model
    assert asr.json["model"] == "qwen3-asr-flash"
    part = asr.json["messages"][0]["content"][0]
    assert part["input_audio"]["data"].startswith("data:audio/wav;base64,")
    box = at.chat_input[0]
    assert box.proto.value == "Reminder:\n\nmeet at three tomorrow" and box.proto.set_value
    assert any("check or edit it" in i.value for i in at.info)
    assert svc.list_threads(svc.settings.user) == []

    fake.push(text("Noted: 15:00."))
    at.chat_input[0].set_value("Reminder: meet at 15:00 tomorrow").run()
    sent = fake.chat_requests[-1].json
    assert sent["model"] == "qwen-plus"
    assert sent["messages"][-1]["content"] == "Reminder: meet at 15:00 tomorrow"  # the edit
    assert "Noted: 15:00." in _texts(at)
    svc.close()


def test_when_the_recogniser_is_down_nothing_is_lost_and_it_can_be_tried_again(settings, fake):
    svc = _service(settings, fake, asr_model="qwen3-asr-flash")
    at = _app(svc, lang="zh")
    fake.push(fault("503"))
    _record(at, _wav(), typed="备注：")
    assert [e.value for e in at.error] == [t("error.speech_failed", "zh")]
    assert at.chat_input[0].proto.value == "备注："  # what was typed stays
    fake.push(text("明天三点开会"))
    _button(at, "transcribe_again").click().run()  # the kept recording, sent again
    assert at.chat_input[0].proto.value == "备注：\n\n明天三点开会"
    assert len(fake.chat_requests) == 2 and not [
        b for b in at.button if b.key == "transcribe_again"
    ]
    assert svc.list_threads(svc.settings.user) == []
    svc.close()


@pytest.mark.parametrize(
    ("audio", "script", "key"),
    [
        (_wav(), text(""), "error.speech_empty"),  # silence: nothing recognised
        (b"RIFF\x00\x00\x00\x00WAVE" + b"x" * 10, None, None),  # a WAV header only: still sent
        (_wav(4.0), None, "error.speech_too_big"),  # over AGENT_APP_MAX_AUDIO_MB
    ],
)
def test_silence_and_too_long_recordings_say_so_and_send_nothing(
    settings, fake, audio, script, key
):
    svc = _service(settings, fake, asr_model="qwen3-asr-flash", max_audio_mb=0.1)
    at = _app(svc, lang="en")
    if script is not None:
        fake.push(script)
    else:
        fake.push(text("heard something"))
    _record(at, audio)
    assert not at.exception
    if key is None:
        assert at.chat_input[0].proto.value == "heard something"
    else:
        assert [e.value for e in at.error] == [t(key, "en", limit="0.1")]
        assert not [b for b in at.button if b.key == "transcribe_again"]  # retrying cannot help
    assert svc.list_threads(svc.settings.user) == []
    svc.close()


def test_read_aloud_and_recording_are_offered_only_when_configured(settings, fake):
    svc = _service(settings, fake, tts_model="qwen3-tts-flash")
    fake.push(text("It is **sunny** today."))
    at = _app(svc, lang="en")
    at.chat_input[0].set_value("Weather?").run()
    speak = next(b for b in at.button if b.key.startswith("speak_"))
    fake.tts.push_fault(fault("500"))
    speak.click().run()
    failed = t("error.tts_failed", "en")
    assert failed in [w.value for w in at.warning]
    assert "sunny" in _texts(at)  # the answer is still there
    next(b for b in at.button if b.key.startswith("speak_")).click().run()
    [asked_ok] = fake.tts_requests[1:]
    assert asked_ok.json["input"]["text"] == "It is sunny today."
    [player] = at.get("audio")
    assert player.proto.url and failed not in [w.value for w in at.warning]

    plain = _service(settings.with_overrides(data_dir=settings.data_dir / "b"), fake)
    fake.push(text("Cloudy."))
    other = _app(plain, lang="en")
    other.chat_input[0].set_value("Weather?").run()
    assert not [b for b in other.button if b.key.startswith("speak_")]
    assert not other.chat_input[0].proto.accept_audio  # no recogniser: no recording either
    plain.close()
    svc.close()


def test_images_dropped_with_a_recording_wait_and_go_with_the_message(settings, fake):
    from tests.test_ui_images import _jpeg_with_gps

    svc = _service(settings, fake, asr_model="qwen3-asr-flash", vision_model="qwen-vl-max")
    at = _app(svc, lang="en")
    fake.push(text("what is in the picture"))
    at.chat_input[0].upload("photo.jpg", _jpeg_with_gps(), "image/jpeg")
    _record(at, _wav())
    assert any("Images waiting to go with your next message: 1" in c.value for c in at.caption)
    assert at.chat_input[0].proto.value == "what is in the picture" and len(fake.chat_requests) == 1
    fake.push(text("A blue rectangle."))
    at.chat_input[0].set_value("what is in the picture?").run()
    sent = fake.chat_requests[-1].json
    assert sent["model"] == "qwen-vl-max"
    assert [p["type"] for p in sent["messages"][-1]["content"]] == ["text", "image_url"]
    assert not any("Images waiting" in c.value for c in at.caption)
    svc.close()
