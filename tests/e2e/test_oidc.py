"""A real OIDC sign-in: st.login in Chromium against a loopback provider; data keyed by the subject."""

from __future__ import annotations

import os
import secrets

import pytest

from tests.e2e.harness import TOOLS_DIR, StreamlitApp, free_port
from tests.fakes.oidc import FakeOIDC

pytestmark = pytest.mark.e2e
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'


@pytest.fixture(scope="module")
def idp():
    with FakeOIDC() as provider:
        yield provider


@pytest.fixture(scope="module")
def app(fake, idp, tmp_path_factory):
    """The real app in `oidc` mode; its [auth] secrets point at the loopback provider."""
    root = tmp_path_factory.mktemp("oidc")
    port = free_port()
    secrets_file = root / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(16)}"\n'
        f'client_id = "{idp.client_id}"\n'
        f'client_secret = "{idp.client_secret}"\n'
        f'server_metadata_url = "{idp.metadata_url}"\n'
    )
    env = {
        "AGENT_APP_AUTH": "oidc",
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_API_BASE": fake.base_url,
        "AGENT_APP_TOOLS_DIRS": os.pathsep.join(["tools", str(TOOLS_DIR)]),
        "AGENT_APP_MAX_RETRIES": "0",
        "AGENT_APP_MEMORY_EXTRACT": "false",
        "AGENT_APP_LANG": "en",
    }
    server = StreamlitApp(
        root / "data",
        env,
        root / "streamlit.log",
        port=port,
        extra_args=("--secrets.files", str(secrets_file)),
    )
    try:
        server.ready()
        yield server
    finally:
        server.stop()


def _sign_in_as(page, app, idp, sub: str, email: str) -> None:
    idp.next_user = {"sub": sub, "email": email, "name": email.split("@")[0]}
    page.goto(app.url)
    page.get_by_role("button", name="Sign in").click(timeout=120_000)  # a cold server is slow
    page.locator(CHAT_INPUT).wait_for(timeout=60_000)


def _sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


@pytest.mark.timeout(400)
def test_st_login_against_a_provider_keys_data_by_subject(page, app, idp, fake):
    page.goto(app.url)
    page.get_by_role("button", name="Sign in").wait_for(timeout=120_000)
    assert page.locator(CHAT_INPUT).count() == 0  # nothing before signing in

    _sign_in_as(page, app, idp, "sub-ann", "ann@example.com")
    assert idp.log[:1] == ["discovery"] and {"authorize", "token", "jwks"} <= set(idp.log)
    page.get_by_text("ann@example.com").first.wait_for()  # who the account box names
    box = page.locator(CHAT_INPUT)
    box.fill("ann-thread: the roadmap")
    box.press("Enter")
    page.get_by_text("echo: ann-thread", exact=False).first.wait_for()
    page.reload()  # Streamlit's own signed cookie keeps the sign-in
    page.locator(CHAT_INPUT).wait_for()
    page.get_by_text("ann-thread: the roadmap").first.wait_for()
    _sign_out(page)

    # the same subject with a new e-mail address is the same user: the conversation is there
    _sign_in_as(page, app, idp, "sub-ann", "ann@new.example.com")
    page.get_by_text("ann-thread: the roadmap").first.wait_for()
    _sign_out(page)

    # another subject who took over the old e-mail address is someone else: it is not
    _sign_in_as(page, app, idp, "sub-mallory", "ann@example.com")
    page.get_by_text("ann@example.com").first.wait_for()
    assert "ann-thread" not in page.locator("body").inner_text()
