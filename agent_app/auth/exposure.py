"""Start-up refusal: an open instance on a public address with a provider key is a wallet for anyone."""

from __future__ import annotations

import ipaddress

from agent_app.settings import Settings

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost; an empty address means every interface."""
    host = (address or "").strip().strip("[]").lower()
    if not host:
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def has_provider_key(settings: Settings) -> bool:
    """Whether a provider key is configured."""
    return any(
        key is not None and key.get_secret_value()
        for key in (settings.dashscope_api_key, settings.openai_api_key)
    )


def open_exposure(settings: Settings, address: str | None) -> str | None:
    """Why this configuration must not start ('refuse'), is knowingly open ('open'), or None (fine)."""
    if settings.auth != "none" or is_loopback(address) or not has_provider_key(settings):
        return None
    return "open" if settings.allow_open else "refuse"


REFUSAL_EN = (
    "agent-app refuses to start: it listens on {address} with a provider API key and no sign-in "
    "(AGENT_APP_AUTH=none), so anyone who can reach it could spend the key and read every "
    "conversation.\nChoose one:\n"
    "  - listen on loopback only: --server.address 127.0.0.1\n"
    "  - local accounts: AGENT_APP_AUTH=password, then `agent-app users add NAME --admin`\n"
    "  - single sign-on: AGENT_APP_AUTH=oidc with an [auth] section in .streamlit/secrets.toml\n"
    "  - behind an authenticating proxy: AGENT_APP_AUTH=header (see docs/deploy.md)\n"
    "  - or, knowingly open: AGENT_APP_ALLOW_OPEN=true"
)


def refusal_message(address: str | None) -> str:
    """The operator-facing explanation (logs and the terminal; the page shows a short localized one)."""
    return REFUSAL_EN.format(address=address or "all interfaces")
