"""Two real browsers signed in as two users: neither sees the other's data, nor opens its URL."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.harness import ROOT, TOOLS_DIR, StreamlitApp

pytestmark = pytest.mark.e2e
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'
USERS = {"alice": "alice-password-1", "bob": "bob-password-22"}


def _cli(data_dir, *args: str, stdin: str | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "agent_app.cli.main", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def app(fake, tmp_path_factory):
    """The real app in password mode; alice (admin) and bob each own a memory, alice a document."""
    root = tmp_path_factory.mktemp("teams")
    data = root / "data"
    _cli(data, "users", "add", "alice", "--admin", stdin=USERS["alice"] + "\n")
    _cli(data, "users", "add", "bob", stdin=USERS["bob"] + "\n")
    _cli(data, "memory", "add", "alice-memory: likes chestnuts", "--user", "alice")
    _cli(data, "memory", "add", "bob-memory: likes plums", "--user", "bob")
    _cli(
        data,
        "kb",
        "add",
        str(ROOT / "tests" / "corpus" / "kb" / "remote_work.md"),
        "--collection",
        "handbook",
        "--user",
        "alice",
    )
    env = {
        "AGENT_APP_AUTH": "password",
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_API_BASE": fake.base_url,
        "AGENT_APP_TOOLS_DIRS": os.pathsep.join(["tools", str(TOOLS_DIR)]),
        "AGENT_APP_MAX_RETRIES": "0",
        "AGENT_APP_MEMORY_EXTRACT": "false",
        "AGENT_APP_LANG": "en",
    }
    server = StreamlitApp(data, env, root / "streamlit.log")
    try:
        server.ready()
        yield server
    finally:
        server.stop()


def _sign_in(page, app, name: str, path: str = "") -> None:
    page.goto(f"{app.url}/{path}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(USERS[name])
    page.get_by_role("button", name="Sign in").click()
    page.locator(CHAT_INPUT).wait_for()


HEADINGS = {
    "Memory": "What the assistant remembers about you",
    "Knowledge": "Knowledge base",
    "Admin": "Admin",
}


def _go(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=HEADINGS[title]).first.wait_for()


@pytest.fixture
def two(browser, app):
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        for _ in range(2)
    ]
    tabs = [ctx.new_page() for ctx in contexts]
    for tab in tabs:
        tab.set_default_timeout(30_000)
    yield tabs
    for ctx in contexts:
        ctx.close()


@pytest.mark.timeout(400)
def test_two_users_see_only_their_own_data(two, app, fake):
    alice, bob = two
    alice.goto(app.url)
    alice.get_by_role("button", name="Sign in").wait_for(timeout=120_000)  # first load, cold server
    assert alice.locator(CHAT_INPUT).count() == 0  # nothing but the sign-in page

    _sign_in(alice, app, "alice")
    box = alice.locator(CHAT_INPUT)
    box.fill("alice-thread: the launch date is secret")
    box.press("Enter")
    alice.get_by_text("echo: alice-thread", exact=False).first.wait_for()
    alice.wait_for_function("() => location.search.includes('thread=')")
    alice_thread = parse_qs(urlsplit(alice.url).query)["thread"][0]

    # bob follows alice's conversation link: he must sign in, then it is "not found"
    _sign_in(bob, app, "bob", f"?thread={alice_thread}")
    bob.get_by_text("Conversation not found.").first.wait_for()
    assert "alice-thread" not in bob.locator("body").inner_text()
    assert alice_thread not in bob.url

    _go(bob, "Memory")
    bob.get_by_text("bob-memory: likes plums").wait_for()
    assert "alice-memory" not in bob.locator("body").inner_text()
    _go(bob, "Knowledge")
    assert "remote_work.md" not in bob.locator("body").inner_text()
    nav = bob.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Admin" not in nav  # nobody's usage for bob

    _go(alice, "Memory")  # the data bob could not see is really there
    alice.get_by_text("alice-memory: likes chestnuts").wait_for()
    assert "bob-memory" not in alice.locator("body").inner_text()
    _go(alice, "Knowledge")
    alice.get_by_text("remote_work.md").first.wait_for()
    _go(alice, "Admin")
    alice.locator('[data-testid="stVegaLiteChart"]').first.wait_for()


def test_wrong_password_then_sign_out(two, app):
    tab = two[0]
    tab.goto(app.url)
    tab.get_by_label("User name").fill("bob")
    tab.get_by_label("Password", exact=True).fill("not bob's password")
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_text("Wrong user name or password.").wait_for()
    assert tab.locator(CHAT_INPUT).count() == 0
    _sign_in(tab, app, "bob")
    tab.get_by_role("button", name="Sign out").click()
    tab.get_by_role("button", name="Sign in").wait_for()
    assert tab.locator(CHAT_INPUT).count() == 0
