"""Real browser: an image from the chat box seen by the (fake) vision model and kept; a recording (issue 15)."""

from __future__ import annotations

import base64
import io
import os

import pytest
from PIL import Image as PILImage
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.harness import TOOLS_DIR, StreamlitApp, chromium_missing, launch_browser
from tests.e2e.test_browser import CHAT_INPUT, MESSAGE, _english, _new_conversation, _open, _send
from tests.fakes import text

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app(fake, tmp_path_factory):
    """The app against the DashScope fake, with a vision model configured for image turns."""
    root = tmp_path_factory.mktemp("e2e-media")
    env = {
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_API_BASE": fake.base_url,
        "AGENT_APP_TOOLS_DIRS": os.pathsep.join(["tools", str(TOOLS_DIR)]),
        "AGENT_APP_MAX_RETRIES": "0",
        "AGENT_APP_MEMORY_EXTRACT": "false",
        "AGENT_APP_TITLE_MODEL": "false",
        "AGENT_APP_MODEL": "qwen-plus",
        "AGENT_APP_VISION_MODEL": "qwen-vl-max",
        "AGENT_APP_ASR_MODEL": "qwen3-asr-flash",
    }
    server = StreamlitApp(root / "data", env, root / "streamlit.log")
    try:
        server.ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Chromium with its built-in fake microphone (a tone), allowed without a prompt."""
    reason = chromium_missing()
    if reason:
        pytest.fail(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch_browser(
            pw, ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
        )
        yield chromium
        chromium.close()


def _picture(path) -> None:
    img = PILImage.new("RGB", (64, 48), (220, 20, 60))
    exif = PILImage.Exif()
    exif[0x8825] = {2: (30.0, 15.0, 0.0)}  # where it was taken: must not reach the model
    img.save(path, "JPEG", exif=exif)


def _sent(page, message: str) -> None:
    """Enter again if the box still holds the message: it is not sent while the file uploads."""
    box = page.locator(CHAT_INPUT)
    for _ in range(10):
        try:
            page.locator(MESSAGE, has_text=message).first.wait_for(timeout=3_000)
            return
        except PlaywrightTimeout:
            if box.input_value() == message:
                box.press("Enter")
    raise AssertionError("the message was never sent")


def test_an_image_from_the_chat_box_is_seen_by_the_model_and_shown_after_reload(
    page, app, fake, tmp_path
):
    photo = tmp_path / "red-square.jpg"
    _picture(photo)
    fake.push(text("It is a crimson rectangle.", chunk=6, pause=0.01))
    _open(page, app)
    _english(page)
    _new_conversation(page)
    page.locator('[data-testid="stChatInput"] input[type="file"]').set_input_files(str(photo))
    page.get_by_text("red-square.jpg").first.wait_for()  # the chip in the box
    _send(page, "What colour is this?", with_files=True)
    _sent(page, "What colour is this?")
    page.get_by_text("It is a crimson rectangle.").wait_for(timeout=60_000)

    sent = fake.chat_requests[-1].json
    assert sent["model"] == "qwen-vl-max"
    parts = sent["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "What colour is this?"}
    url = parts[1]["image_url"]["url"]
    with PILImage.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as seen:
        assert seen.size == (64, 48) and dict(seen.getexif()) == {}
    page.get_by_text("qwen-vl-max").first.wait_for()  # the notice: this turn went to it

    page.locator(".st-key-turn_controls").wait_for(state="detached")
    page.reload()
    page.get_by_text("It is a crimson rectangle.").wait_for(timeout=60_000)
    asked = page.locator(MESSAGE, has_text="What colour is this?")
    shown = asked.locator('[data-testid="stImage"] img')
    shown.wait_for()
    assert shown.count() == 1
    assert shown.evaluate("img => img.complete && img.naturalWidth") == 64  # loaded, full size
    assert not page.locator(CHAT_INPUT).is_disabled()


def test_a_recording_from_the_chat_box_is_put_in_the_box_to_edit_and_not_sent(page, app, fake):
    page.context.grant_permissions(["microphone"])
    _open(page, app)
    _english(page)
    _new_conversation(page)
    fake.clear()
    fake.push(text("buy oat milk"))
    box = page.locator(CHAT_INPUT)
    box.fill("List:")
    page.locator('[data-testid="stChatInputMicButton"]').click()
    done = page.locator('[data-testid="stChatInputApproveButton"]')
    done.wait_for()
    page.wait_for_timeout(1_000)  # a second of the fake microphone's tone
    done.click()
    page.get_by_text("check or edit it").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stChatInputTextArea]').value"
        " === 'List:\\n\\nbuy oat milk'"
    )
    [asr] = fake.chat_requests  # recognised only: nothing went to the chat model
    assert asr.json["model"] == "qwen3-asr-flash"
    part = asr.json["messages"][0]["content"][0]["input_audio"]["data"]
    assert part.startswith("data:audio/wav;base64,")
    assert page.locator(MESSAGE).count() == 0

    fake.push(text("Added oat milk and bread."))
    box.fill("List: buy oat milk and bread")
    box.press("Enter")
    page.get_by_text("Added oat milk and bread.").wait_for(timeout=60_000)
    sent = fake.chat_requests[-1].json
    assert sent["model"] == "qwen-plus"
    assert sent["messages"][-1]["content"] == "List: buy oat milk and bread"
