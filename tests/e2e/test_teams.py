"""Two real browsers signed in as two users: neither sees the other's data, nor opens its URL."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.cli_inproc import run_main
from tests.e2e.harness import ROOT, TOOLS_DIR, StreamlitApp

pytestmark = pytest.mark.e2e
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
MESSAGE = '[data-testid="stChatMessage"]'
USERS = {"alice": "alice-password-1", "bob": "bob-password-22"}


def _cli(data_dir, *args: str, stdin: str | None = None) -> None:
    """An admin's `agent-app` command, through main() in this process (the subject here is the
    browser; the CLI's own process contract is tested in tests/test_users_cli.py and others)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_APP_", "DASHSCOPE_"))}
    proc = run_main(["--data-dir", str(data_dir), *args], env=env, stdin=stdin)
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
    server.data_dir = data
    try:
        server.ready()
        yield server
    finally:
        server.stop()


def _sign_in(page, app, name: str, path: str = "") -> None:
    page.goto(f"{app.url}/{path}")
    page.get_by_label("User name").wait_for(timeout=120_000)  # a cold server's first page is slow
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
    # The signed-in page's elements go when the rerun finishes, which may be after the form shows.
    tab.locator(CHAT_INPUT).wait_for(state="detached", timeout=15_000)
    assert tab.locator(CHAT_INPUT).count() == 0


def _pick_collection(page, label: str) -> None:
    page.get_by_label("Collection").first.click()
    page.get_by_role("option", name=label).click()


@pytest.mark.timeout(400)
def test_a_shared_handbook_is_read_only_for_bob_and_unsharing_ends_it(two, app):
    alice, bob = two
    _sign_in(alice, app, "alice")
    _go(alice, "Knowledge")
    alice.get_by_text("remote_work.md").first.wait_for()
    alice.get_by_role("button", name="Share").click()
    alice.get_by_label("Share with these users (read-only)").click()
    alice.get_by_role("option", name="bob").click()
    alice.keyboard.press("Escape")
    alice.get_by_role("button", name="Save sharing").click()
    alice.get_by_text("Shared read-only with: bob").wait_for()

    _sign_in(bob, app, "bob")
    _go(bob, "Knowledge")
    bob.get_by_text("Shared with you by alice · read-only").wait_for()
    assert bob.get_by_label("Collection").first.input_value() == "handbook · shared by alice"
    bob.get_by_text("remote_work.md").first.wait_for()
    main = bob.locator('[data-testid="stMain"]')
    assert main.get_by_role("button", name="Remove").count() == 0  # read, never change
    assert main.get_by_text("Add files").count() == 0
    assert main.get_by_text("Delete collection").count() == 0
    bob.get_by_label("Try a search").fill("remote work")
    bob.get_by_label("Try a search").press("Enter")
    bob.get_by_text("remote_work.md", exact=False).nth(1).wait_for()  # a hit from the handbook

    _go(alice, "Admin")
    admin = alice.locator('[data-testid="stMain"]')
    admin.get_by_text("Shared collections").wait_for()
    table = admin.locator('[data-testid="stTable"]').inner_text()
    assert "alice" in table and "handbook" in table and "bob" in table

    _go(alice, "Knowledge")  # unshare: bob's next action no longer finds it
    alice.get_by_role("button", name="Share").click()
    alice.get_by_label("Share with these users (read-only)").click()
    alice.keyboard.press("Backspace")
    alice.keyboard.press("Escape")
    alice.get_by_role("button", name="Save sharing").click()
    alice.get_by_text("Shared read-only with: bob").wait_for(state="detached")
    bob.get_by_label("Try a search").fill("remote work again")
    bob.get_by_label("Try a search").press("Enter")
    bob.get_by_text("No collections yet: create one to start.").wait_for()
    assert "remote_work.md" not in bob.locator("body").inner_text()


@pytest.mark.timeout(400)
def test_a_reload_keeps_the_sign_in_until_sign_out_or_disable(two, app):
    tab = two[0]
    _sign_in(tab, app, "bob")
    tab.reload()
    tab.locator(CHAT_INPUT).wait_for()  # still bob, no sign-in page
    assert tab.get_by_role("button", name="Sign in").count() == 0
    [cookie] = [c for c in tab.context.cookies() if c["name"] == "agent_app_session"]
    assert cookie["sameSite"] == "Strict" and USERS["bob"] not in cookie["value"]
    second = tab.context.new_page()  # a new tab of the same browser is signed in too
    second.goto(app.url)
    second.locator(CHAT_INPUT).wait_for()

    tab.get_by_role("button", name="Sign out").click()
    tab.get_by_role("button", name="Sign in").wait_for()
    tab.reload()
    tab.get_by_role("button", name="Sign in").wait_for()  # signed out stays signed out
    assert tab.locator(CHAT_INPUT).count() == 0
    second.reload()  # the same session: it ended for every tab
    second.get_by_role("button", name="Sign in").wait_for()

    # a disabled account's session, kept by its cookie, ends at the next action
    _sign_in(tab, app, "bob")
    tab.reload()
    tab.locator(CHAT_INPUT).wait_for()
    _cli(app.data_dir, "users", "disable", "bob")
    try:
        tab.locator(CHAT_INPUT).fill("still here?")
        tab.locator(CHAT_INPUT).press("Enter")
        tab.get_by_role("button", name="Sign in").wait_for()
        tab.reload()
        tab.get_by_role("button", name="Sign in").wait_for()
        assert "still here?" not in tab.locator("body").inner_text()
    finally:
        _cli(app.data_dir, "users", "enable", "bob")
