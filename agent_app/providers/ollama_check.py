"""Ollama checks: a local address, a recent server, and the model's capabilities (/api/show)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from agent_app.errors import ProviderUnavailableError

MIN_VERSION = (0, 17, 1)


def is_local_url(url: str) -> bool:
    """True when every address the host resolves to is loopback or private."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    addrs = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    return bool(addrs) and all(a.is_loopback or a.is_private for a in addrs)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in str(text).split("-")[0].split("."):
        parts.append(int(piece) if piece.isdigit() else 0)
    return tuple(parts)


def check_server(host: str, *, allow_remote: bool = False, timeout: float = 3.0) -> str:
    """Return the server version; raise a clear error for remote URLs, old or absent servers."""
    if not allow_remote and not is_local_url(host):
        raise ProviderUnavailableError("remote ollama", key="error.ollama_remote")
    try:
        resp = httpx.get(f"{host.rstrip('/')}/api/version", timeout=timeout, trust_env=False)
        resp.raise_for_status()
        version = str(resp.json().get("version", "0"))
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailableError(type(exc).__name__, backend="Ollama") from None
    if _version_tuple(version) < MIN_VERSION:
        raise ProviderUnavailableError("old ollama", key="error.ollama_version", version=version)
    return version


def capabilities(host: str, model: str, *, timeout: float = 5.0) -> set[str]:
    """The model's capabilities from /api/show, e.g. {'completion', 'tools', 'thinking'}."""
    try:
        resp = httpx.post(
            f"{host.rstrip('/')}/api/show", json={"model": model}, timeout=timeout, trust_env=False
        )
    except httpx.HTTPError as exc:
        raise ProviderUnavailableError(type(exc).__name__, backend="Ollama") from None
    if resp.status_code == 404:
        raise ProviderUnavailableError(
            "model missing", key="error.model_not_found", backend="Ollama"
        )
    if resp.status_code >= 400:
        raise ProviderUnavailableError(f"status {resp.status_code}", backend="Ollama")
    try:
        return set(resp.json().get("capabilities") or [])
    except ValueError:
        return set()


def list_models(host: str, *, timeout: float = 3.0) -> list[str]:
    """Names of the models Ollama has pulled (/api/tags); empty when unreachable."""
    try:
        resp = httpx.get(f"{host.rstrip('/')}/api/tags", timeout=timeout, trust_env=False)
        return [m.get("name", "") for m in resp.json().get("models", []) if m.get("name")]
    except (httpx.HTTPError, ValueError, AttributeError):
        return []
