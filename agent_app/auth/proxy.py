"""`header` mode: the user a trusted reverse proxy names, believed only from that proxy's address."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping

from agent_app.auth.identity import normalize_name, valid_name
from agent_app.settings import Settings

log = logging.getLogger(__name__)


def trusted_networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks whose proxies are believed, from the settings (bad entries skipped)."""
    nets = []
    for part in settings.trusted_proxies.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            log.warning("ignoring an invalid AGENT_APP_TRUSTED_PROXIES entry: %r", part)
    return nets


def is_trusted_peer(peer: str | None, settings: Settings) -> bool:
    """True when the TCP peer is an allow-listed proxy; None (Streamlit's loopback) is 127.0.0.1."""
    try:
        addr = ipaddress.ip_address((peer or "127.0.0.1").strip("[]"))
    except ValueError:
        return False
    return any(addr in net for net in trusted_networks(settings))


def header_user(headers: Mapping[str, str], peer: str | None, settings: Settings) -> str | None:
    """The proxy-asserted user name, or None: missing header, bad name or an untrusted sender."""
    if not is_trusted_peer(peer, settings):
        if any(k.lower() == settings.auth_header.lower() for k in headers):
            log.warning("identity header from an untrusted address %s ignored", peer)
        return None
    wanted = settings.auth_header.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), "")
    raw = normalize_name(value or "")
    return raw if valid_name(raw) else None


def client_address(headers: Mapping[str, str], peer: str | None, settings: Settings) -> str:
    """The address a sign-in attempt is counted against (the peer, or the client a trusted proxy names).

    Behind an allow-listed proxy every peer is the proxy; its X-Forwarded-For names the client.
    """
    address = (peer or "127.0.0.1").strip("[]")
    if is_trusted_peer(peer, settings):
        forwarded = next((v for k, v in headers.items() if k.lower() == "x-forwarded-for"), "")
        first = forwarded.split(",")[0].strip()
        try:
            address = str(ipaddress.ip_address(first.strip("[]")))
        except ValueError:
            pass
    return address
