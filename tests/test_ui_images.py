"""Images from the chat box under AppTest: sent to the vision model (the DashScope fake), kept, shown."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image as PILImage

from agent_app.wiring import open_service
from tests.conftest import CANARY
from tests.fakes import FakeDashScope, text
from tests.test_ui_apptest import _app, _texts

pytestmark = pytest.mark.integration


def _jpeg_with_gps() -> bytes:
    img = PILImage.new("RGB", (30, 20), (10, 120, 200))
    exif = PILImage.Exif()
    exif[0x8825] = {2: (30.0, 15.0, 0.0)}  # a GPS latitude
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


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


def _user_bubbles(at):
    return [m for m in at.chat_message if m.name == "user"]


def test_an_image_from_the_chat_box_reaches_the_vision_model_and_stays_in_the_history(
    settings, fake
):
    svc = _service(settings, fake, vision_model="qwen-vl-max")
    fake.push(text("A blue rectangle."))
    at = _app(svc, lang="en")
    box = at.chat_input[0]
    box.upload("photo.jpg", _jpeg_with_gps(), "image/jpeg").set_value("What is this?").run()
    assert not at.exception, at.exception
    [sent] = fake.chat_requests
    assert sent.json["model"] == "qwen-vl-max"
    blocks = sent.json["messages"][-1]["content"]
    assert blocks[0] == {"type": "text", "text": "What is this?"}
    url = blocks[1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    with PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as seen:
        assert dict(seen.getexif()) == {} and seen.size == (30, 20)  # EXIF (GPS) gone
    assert "qwen-vl-max" in _texts(at)  # the notice that this turn went to the vision model
    assert "A blue rectangle." in _texts(at)

    reloaded = _app(svc, lang="en")  # a new session: the history is read back from the store
    [bubble] = _user_bubbles(reloaded)
    assert (
        len(bubble.image) == 1
        and len(bubble.image[0].value) == 1
        and "What is this?" in bubble.markdown[0].value
    )
    thread = svc.list_threads(svc.settings.user)[0].id
    exported = svc.export_thread(svc.settings.user, thread, "md")
    assert "![image 1](data:image/jpeg;base64," in exported
    assert json.loads(svc.export_thread(svc.settings.user, thread, "json"))["messages"][0][
        "images"
    ] == [url]
    svc.close()


def test_without_a_model_that_sees_the_image_is_refused_and_the_text_kept(settings, fake):
    svc = _service(settings, fake)  # qwen-plus, and no vision model configured
    at = _app(svc, lang="en")
    at.chat_input[0].upload("photo.jpg", _jpeg_with_gps(), "image/jpeg").set_value("And this?")
    at.run()
    assert not at.exception
    assert any("Images need a model that can see them" in e.value for e in at.error)
    assert at.chat_input[0].proto.value == "And this?"  # back in the box, not sent
    assert fake.chat_requests == [] and svc.list_threads(svc.settings.user) == []
    svc.close()


def test_offline_an_image_says_it_needs_a_model(settings):
    svc = open_service(settings, tools=[])
    at = _app(svc, lang="en")
    at.chat_input[0].upload("photo.png", _jpeg_with_gps(), "image/png").run()
    assert any("Images need a model" in e.value for e in at.error)
    assert svc.list_threads(svc.settings.user) == []
    svc.close()


@pytest.mark.parametrize(
    ("name", "raw", "said"),
    [
        ("notes.png", b"<html><script>alert(1)</script></html>", "not an image that can be read"),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * 1_100_000, "too large (the limit is 1 MB)"),
    ],
)
def test_a_bad_image_is_refused_clearly_before_anything_is_sent(settings, fake, name, raw, said):
    svc = _service(settings, fake, vision_model="qwen-vl-max", max_image_mb=1)
    at = _app(svc, lang="en")
    at.chat_input[0].upload(name, raw, "image/png").set_value("look").run()
    assert any(said in e.value for e in at.error), [e.value for e in at.error]
    assert "<script>" not in _texts(at) and fake.chat_requests == []
    svc.close()
