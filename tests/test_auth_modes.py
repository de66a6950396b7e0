"""Start-up refusal, trusted-proxy header identity and OIDC subject mapping."""

from __future__ import annotations

import pytest

from agent_app.auth.exposure import is_loopback, open_exposure, refusal_message
from agent_app.auth.oidc import oidc_user
from agent_app.auth.proxy import header_user
from agent_app.settings import Settings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.8.0.1", True),
        ("0.0.0.0", False),
        ("", False),
        (None, False),
        ("::", False),
        ("10.0.0.5", False),
    ],
)
def test_loopback_addresses(address, expected):
    assert is_loopback(address) is expected


def test_public_address_with_a_key_and_no_sign_in_is_refused(data_dir):
    keyed = Settings(data_dir=data_dir, dashscope_api_key="sk-live-key-123456")
    assert open_exposure(keyed, "0.0.0.0") == "refuse"
    assert open_exposure(keyed, "") == "refuse"  # Streamlit's default: every interface
    assert open_exposure(keyed, "127.0.0.1") is None
    assert open_exposure(keyed.with_overrides(auth="password"), "0.0.0.0") is None
    assert open_exposure(keyed.with_overrides(allow_open=True), "0.0.0.0") == "open"
    assert open_exposure(Settings(data_dir=data_dir), "0.0.0.0") is None  # offline: no wallet
    message = refusal_message("0.0.0.0")
    assert "AGENT_APP_AUTH=password" in message and "AGENT_APP_ALLOW_OPEN=true" in message
    assert "sk-live" not in message


def test_identity_header_is_believed_only_from_a_trusted_proxy(data_dir):
    settings = Settings(data_dir=data_dir, auth="header", trusted_proxies="10.0.0.0/24, ::1/128")
    headers = {"x-forwarded-user": "Alice"}
    assert header_user(headers, "10.0.0.7", settings) == "alice"
    assert header_user(headers, "10.0.1.7", settings) is None  # a visitor typing the header
    assert header_user(headers, None, settings) is None  # loopback is not in this allow-list
    assert header_user({}, "10.0.0.7", settings) is None
    assert header_user({"X-Forwarded-User": "bad name!"}, "10.0.0.7", settings) is None
    custom = settings.with_overrides(auth_header="Remote-User")
    assert header_user({"remote-user": "bob"}, "10.0.0.7", custom) == "bob"
    assert header_user(headers, "10.0.0.7", custom) is None


def test_oidc_user_id_is_the_subject_not_the_email():
    claims = {
        "is_logged_in": True,
        "sub": "1234567890",
        "iss": "https://accounts.google.com",
        "email": "alice@example.com",
    }
    user_id, name = oidc_user(claims)
    assert "1234567890" in user_id and "alice" not in user_id and name == "alice@example.com"
    changed_mail = oidc_user({**claims, "email": "alice@new.example.com"})
    assert changed_mail[0] == user_id
    other_issuer = oidc_user({**claims, "iss": "https://login.microsoftonline.com/x/v2.0"})
    assert other_issuer[0] != user_id
    assert oidc_user({"is_logged_in": False}) is None
    assert oidc_user({"is_logged_in": True, "email": "no-subject@example.com"}) is None


def test_the_auth_section_of_streamlit_secrets_is_not_the_auth_setting(data_dir):
    """secrets.toml's [auth] table (st.login's) arrives as an AttrDict next to AGENT_APP-style keys."""
    from streamlit.runtime.secrets import AttrDict

    from agent_app.settings import load_settings

    section = AttrDict({"redirect_uri": "http://127.0.0.1:1/oauth2callback", "client_id": "x"})
    settings = load_settings({"auth": section, "daily_token_budget": 5}, data_dir=data_dir)
    assert settings.daily_token_budget == 5 and settings.auth in (
        "none",
        "password",
        "oidc",
        "header",
    )
