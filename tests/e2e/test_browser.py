"""Real browser flows: streaming, live tool steps, stop, language, conversations, reload (issue 4)."""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.harness import ROOT
from tests.fakes import text, tool_calls

pytestmark = pytest.mark.e2e
# The README's screenshots are refreshed only on request: `make test` must leave tracked files alone.
SHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("AGENT_APP_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "agent-app-screenshots"
)
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'
STEP = '[data-testid="stExpander"]'


def _open(page, app, path: str = "") -> None:
    page.goto(f"{app.url}/{path}")
    page.locator(CHAT_INPUT).wait_for(timeout=90_000)  # a cold server opens the service first


def _english(page) -> None:
    switch = page.locator(".st-key-lang_switch button", has_text="English")
    if switch.get_attribute("kind") != "segmented_controlActive":
        switch.click()
        page.get_by_text("New conversation", exact=True).first.wait_for()


def _send(page, message: str, *, with_files: bool = False) -> None:
    box = page.locator(CHAT_INPUT)
    box.fill(message)
    if with_files:  # the box refuses to send while a file is still uploading: Enter would be lost
        page.locator('[data-testid="stChatInputSubmitButton"]:enabled').wait_for()
    box.press("Enter")


def _thread(page) -> str:
    page.wait_for_function("() => location.search.includes('thread=')")
    return parse_qs(urlsplit(page.url).query)["thread"][0]


def _new_conversation(page) -> None:
    page.locator(".st-key-new_chat button").click()
    page.get_by_text("How can I help?").wait_for()


def test_tokens_arrive_before_the_answer_finishes(page, app, fake):
    words = " ".join(f"word{i}" for i in range(40))
    fake.push(text(f"Streaming {words} THE-END", chunk=4, pause=0.05))
    _open(page, app)
    _english(page)
    _new_conversation(page)
    _send(page, "Stream something")
    page.get_by_text("Streaming", exact=False).first.wait_for()
    lengths: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = page.locator(MESSAGE).last.inner_text()
        if "THE-END" in shown:
            break
        if "Streaming" in shown:
            lengths.append(len(shown))
        time.sleep(0.05)
    partial = sorted(set(lengths))
    assert len(partial) >= 3, f"expected the answer to grow on screen, saw lengths {partial}"
    assert partial == sorted(lengths) or lengths == sorted(lengths)  # it only grows
    page.get_by_text("THE-END").first.wait_for()


def test_tool_step_appears_while_it_runs(page, app, fake):
    fake.push(
        tool_calls([("slow_lookup", {"topic": "afternoon tea"})]),
        text("Afternoon tea is served at 3 pm.", chunk=3, pause=0.03),
    )
    _open(page, app)
    _english(page)
    _new_conversation(page)
    _send(page, "When is afternoon tea?")
    running = page.locator(STEP, has_text="Running").filter(has_text="slow_lookup")
    running.filter(has_text="afternoon tea").wait_for()  # label and arguments, while the tool runs
    assert "served at 3 pm" not in page.locator(MESSAGE).last.inner_text()
    page.get_by_text("Afternoon tea is served at 3 pm.").wait_for()
    done = page.locator(STEP, has_text="Used").filter(has_text="slow_lookup")
    assert re.search(r"slow_lookup\s*· \d+\.\d s", done.inner_text())  # with its duration (~3 s)


def test_reload_keeps_the_conversation(page, app, fake):
    _open(page, app)
    _english(page)
    page.locator(".st-key-thread_list button", has_text="When is afternoon tea?").first.click()
    page.get_by_text("Afternoon tea is served at 3 pm.").wait_for()
    thread = _thread(page)
    page.reload()
    page.get_by_text("Afternoon tea is served at 3 pm.").wait_for()
    assert _thread(page) == thread
    assert page.locator(STEP, has_text="slow_lookup").count() == 1


def test_stop_ends_the_answer_cleanly(page, app, fake):
    words = " ".join(f"slow{i}" for i in range(60))
    fake.push(text(f"Beginning {words}", chunk=3, pause=0.05))
    _open(page, app)
    _english(page)
    _new_conversation(page)
    _send(page, "Write a lot")
    page.get_by_text("Beginning", exact=False).first.wait_for()
    page.locator(".st-key-stop button").click()
    page.get_by_text("Stopped.").wait_for()  # at once, while the model winds down in the background
    assert "slow59" not in page.content()
    page.locator(".st-key-retry button").wait_for(
        timeout=30_000
    )  # the turn has ended: retry offered
    assert "Partial answer, not saved." in page.content() and "slow59" not in page.content()
    assert not page.locator(CHAT_INPUT).is_disabled()


def test_language_switch_is_remembered(page, app):
    _open(page, app)
    _english(page)
    page.locator(".st-key-lang_switch button", has_text="中文").click()
    page.get_by_text("新建对话").first.wait_for()
    page.wait_for_function("""() => document.querySelector('[data-testid="stChatInputTextArea"]')
                                   ?.placeholder === '给助手发消息…'""")
    page.reload()
    page.get_by_text("新建对话").first.wait_for()
    assert page.get_by_text("知识库").count() >= 1  # navigation too
    page.locator(".st-key-lang_switch button", has_text="English").click()
    page.get_by_text("New conversation", exact=True).first.wait_for()


def test_create_rename_delete_conversation(page, app):
    _open(page, app)
    _english(page)
    _new_conversation(page)
    _send(page, "note one")
    page.get_by_text("echo: note one").wait_for()  # the fake's default answer
    thread = _thread(page)
    page.locator(f".st-key-manage_{thread} button").first.click()
    page.locator(f".st-key-rename_{thread} input").fill("Trip notes")
    page.locator(f".st-key-rename_{thread} input").press("Enter")
    page.locator(f".st-key-rename_btn_{thread} button").click()
    page.locator(".st-key-thread_list button", has_text="Trip notes").wait_for()
    page.reload()
    page.locator(".st-key-thread_list button", has_text="Trip notes").wait_for()
    page.get_by_text("echo: note one").wait_for()
    page.locator(f".st-key-manage_{thread} button").first.click()
    page.locator(f".st-key-delete_{thread} button").click()
    page.locator(f".st-key-delete_yes_{thread} button").click()
    page.locator(".st-key-thread_list button", has_text="Trip notes").wait_for(state="detached")
    assert page.locator(".st-key-thread_list button", has_text="Trip notes").count() == 0


def test_screenshot_of_a_chat_with_a_tool_step(page, app, fake):
    fake.push(
        tool_calls(
            [("calculator", {"expression": "(17 + 25) * 3"})],
            reasoning="First add inside the brackets, then multiply.",
        ),
        text(
            "**(17 + 25) × 3 = 126.**\n\n1. 17 + 25 = 42\n2. 42 × 3 = 126\n\n"
            "That is ¥126, or $126 at $1 each — and $\\sqrt{x^2} = |x|$ is maths.",
            chunk=4,
            pause=0.02,
        ),
    )
    page.set_viewport_size({"width": 1280, "height": 1000})
    _open(page, app)
    _english(page)
    _new_conversation(page)
    _send(page, "What is (17 + 25) × 3?")
    page.get_by_text("or $126 at $1 each", exact=False).wait_for()  # prices stay prices
    page.locator(f"{MESSAGE} .katex").first.wait_for()  # and maths is typeset
    page.locator(".st-key-turn_controls").wait_for(state="detached")
    step = page.locator(STEP, has_text="calculator")
    step.locator("summary").click()
    step.locator("code", has_text="126").wait_for()  # the result, rendered
    time.sleep(0.6)  # let the expand animation settle
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chat.png"))
    fake.push(
        tool_calls([("calculator", {"expression": "26.2 * 1.609344"})]),
        text("26.2 英里约等于 **42.16 公里**，正好是一个马拉松的距离。", chunk=4, pause=0.02),
    )
    page.locator(".st-key-lang_switch button", has_text="中文").click()
    page.get_by_text("新建对话").first.wait_for()
    page.locator(".st-key-new_chat button").click()
    page.get_by_text("有什么可以帮你？").wait_for()
    _send(page, "26.2 英里是多少公里？")
    page.get_by_text("马拉松的距离").wait_for()
    page.locator(".st-key-turn_controls").wait_for(state="detached")
    time.sleep(0.6)
    page.screenshot(path=str(SHOTS / "chat-zh.png"))
    page.locator(".st-key-lang_switch button", has_text="English").click()
    page.get_by_text("New conversation", exact=True).first.wait_for()


def test_model_output_fetches_nothing_and_runs_nothing(page, app, fake):  # RELIABILITY D3, D4
    base = fake.root_url
    fake.push(
        text(
            f"Here: ![tracker]({base}/leak.png?d=history) <img src={base}/onerror.png "
            f"onerror=\"document.title='pwned'\"> [win]({base}/click?d=1) <script>document.title='pwned'</script> "
            "costs ¥100 and $5 END",
            chunk=8,
            pause=0.01,
        )
    )
    _open(page, app)
    _english(page)
    _new_conversation(page)
    _send(page, "Show me a picture")
    page.get_by_text("[image: tracker]").wait_for()
    page.get_by_text("costs ¥100 and $5 END").wait_for()  # dollars stay dollars (I4)
    time.sleep(1.0)
    assert not [r.path for r in fake.requests if not r.path.startswith("/compatible-mode/")]
    assert page.title() != "pwned"
    assert page.locator(f'{MESSAGE} img[src*="leak"], {MESSAGE} img[src*="onerror"]').count() == 0
    assert page.locator(f'{MESSAGE} a[href*="/click"]').count() == 0


def test_two_tabs_hold_two_conversations(browser, app, fake):
    tabs = []
    for _ in range(2):
        context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")
        tab = context.new_page()
        tab.set_default_timeout(20_000)
        _open(tab, app)
        _english(tab)
        _new_conversation(tab)
        tabs.append(tab)
    try:
        _send(tabs[0], "first tab question")
        _send(tabs[1], "second tab question")
        tabs[0].get_by_text("echo: first tab question").wait_for()
        tabs[1].get_by_text("echo: second tab question").wait_for()
        threads = [_thread(tab) for tab in tabs]
        assert threads[0] != threads[1]
        for tab, other in ((tabs[0], "second tab"), (tabs[1], "first tab")):
            assert not [t for t in tab.locator(MESSAGE).all_inner_texts() if other in t]
    finally:
        for tab in tabs:
            tab.context.close()


def test_only_our_stop_while_streaming_and_leaving_keeps_the_partial(page, app, fake):
    words = " ".join(f"drip{i}" for i in range(80))
    fake.push(text(f"Opening {words}", chunk=3, pause=0.05))
    _open(page, app)
    _english(page)
    _new_conversation(page)
    _send(page, "Tell me a long story")
    page.get_by_text("Opening", exact=False).first.wait_for()
    time.sleep(0.8)  # Streamlit shows its own Stop after 0.5 s of running
    header = page.locator('header [data-testid="stStatusWidget"] button')
    assert header.count() == 0 or not header.first.is_visible(), "Streamlit's Stop is showing"
    assert page.locator(".st-key-stop button").is_visible()
    thread = _thread(page)
    page.locator(".st-key-new_chat button").click()  # leave while it streams: the page must live on
    page.get_by_text("How can I help?").wait_for()
    page.locator(".st-key-thread_list button", has_text="Tell me a long story").first.click()
    page.get_by_text("Partial answer, not saved.").wait_for(timeout=30_000)
    assert "Opening" in page.locator(MESSAGE).last.inner_text()
    assert _thread(page) == thread
    page.locator(".st-key-retry button").wait_for(timeout=30_000)
    assert not page.locator(CHAT_INPUT).is_disabled()


def test_attach_from_the_chat_box_then_cite_it_and_copy_the_answer(page, app, fake, tmp_path):
    doc = tmp_path / "orchid-care.md"
    doc.write_text("# Orchid care\n\nWater the moth orchid every 9 days.\n", encoding="utf-8")
    fake.push(
        tool_calls([("search_knowledge", {"query": "orchid water"})]),
        text("Water it every **9 days**.\n\n```\nwater --every 9d\n```", chunk=6, pause=0.01),
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _open(page, app)
    _english(page)
    _new_conversation(page)
    page.locator('[data-testid="stChatInput"] input[type="file"]').set_input_files(str(doc))
    page.get_by_text("orchid-care.md").first.wait_for()  # the chip in the box
    _send(page, "How often do I water my orchid?", with_files=True)
    page.get_by_text("Water it every").wait_for(timeout=60_000)
    sources = page.locator(STEP, has_text="Sources (1)")
    sources.locator("summary").click()
    sources.get_by_text("orchid-care.md").wait_for()
    page.locator(".st-key-turn_controls").wait_for(state="detached")
    answer = page.locator(MESSAGE).last
    answer.locator('[data-testid="stPopover"] button').first.click()  # copy
    block = page.locator('[data-testid="stPopoverBody"] [data-testid="stCode"]')
    block.hover()
    block.locator("button").first.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Water it every **9 days**.") and "water --every 9d" in copied
    code = answer.locator('[data-testid="stCode"]', has_text="water --every 9d")
    code.hover()
    assert code.locator("button").count() >= 1  # code blocks in answers have their copy button
