"""URL and IP policy for outbound fetches: parse strictly, resolve once, check every address."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from agent_app.errors import UnsafeURLError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata endpoints. Most are already non-global, but 168.63.129.16 (Azure) and
# 192.0.0.192 (Oracle) pass `is_global`, and 100.100.100.200 (Alibaba) is not `is_private`.
METADATA_IPS = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "100.100.100.200",
        "168.63.129.16",
        "192.0.0.192",
        "fd00:ec2::254",
    )
)
# Names checked in addition to the resolved-address check, never instead of it.
BLOCKED_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal", "instance-data"})
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
# Scripts whose letters imitate Latin ones (аpple.com in Cyrillic); see docs/tools.md, IDN policy.
_LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})


class ResolveError(OSError):
    """The host name did not resolve; not a policy violation."""


@dataclass(frozen=True)
class NetPolicy:
    """Limits for the web reader; tests widen `allowed_networks`/`allowed_ports`, nothing else."""

    allowed_ports: frozenset[int] = frozenset({80, 443})
    allowed_networks: tuple[IPNetwork, ...] = ()
    """Exceptions to the address block list (an admin's intranet, a test server); empty by default."""
    max_bytes: int = 2_000_000
    """Cap on the body after decompression."""
    timeout_s: float = 15.0
    """Total time for all hops, including reading the body."""
    max_redirects: int = 5
    max_output_chars: int = 20_000
    content_types: frozenset[str] = frozenset(
        {
            "text/html",
            "application/xhtml+xml",
            "text/plain",
            "text/markdown",
            "text/csv",
            "application/json",
            "application/ld+json",
            "text/xml",
            "application/xml",
            "application/rss+xml",
            "application/atom+xml",
        }
    )
    verify_tls: bool = True


@dataclass(frozen=True)
class Target:
    """One validated request target; the request is built from these fields, not the raw string."""

    scheme: str
    host: str
    """ASCII host (punycode for IDN), without IPv6 brackets; sent as Host header and TLS SNI."""
    port: int
    path: str
    literal_ip: IPAddress | None = None

    @property
    def url(self) -> str:
        """The URL of the validated target (default ports left out)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"http": 80, "https": 443}[self.scheme]
        netloc = host if self.port == default else f"{host}:{self.port}"
        return f"{self.scheme}://{netloc}{self.path}"


def _reject(reason: str) -> UnsafeURLError:
    return UnsafeURLError(reason)


def parse_url(url: object, policy: NetPolicy) -> Target:
    """Parse and validate a URL; anything ambiguous raises UnsafeURLError before any lookup."""
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise _reject("URL missing or longer than 2048 characters")
    if _FORBIDDEN_CHARS.search(url):
        raise _reject("URL contains spaces, control characters or backslashes")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _reject("only http and https URLs are allowed")
    if "@" in parts.netloc or "@" in parts.fragment:
        raise _reject("user names and '@' in the host or fragment are not allowed")
    if "%" in parts.netloc or not parts.netloc:
        raise _reject("missing or percent-encoded host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise _reject("invalid port") from None
    if port not in policy.allowed_ports:
        raise _reject(f"port {port} is not allowed")
    host, literal = _canonical_host(parts.hostname or "")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port, path=path, literal_ip=literal)


def _canonical_host(raw: str) -> tuple[str, IPAddress | None]:
    host = raw.lower().rstrip(".")
    if not host:
        raise _reject("missing host")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return str(ip), ip
    if _NUMERIC_HOST.match(host):
        # 2130706433, 0x7f000001, 0177.0.0.1, 127.1: decode like the C resolver would, then
        # refuse: the address is checked first so the reason names the real target.
        try:
            decoded = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise _reject("invalid numeric host") from None
        reason = blocked_reason(decoded)
        raise _reject(f"host {raw!r} is {decoded} ({reason or 'non-canonical IP spelling'})")
    ascii_host = _idna_host(host)
    if ascii_host in BLOCKED_NAMES or ascii_host.endswith((".localhost", ".internal")):
        raise _reject(f"host {ascii_host} is not allowed")
    return ascii_host, None


def _idna_host(host: str) -> str:
    """ASCII form of a host; IDN labels must be single-script and not Latin look-alikes."""
    if host.isascii() and "xn--" not in host:
        labels = host.split(".")
    else:
        try:
            unicode_host = idna.decode(idna.encode(host, uts46=True))
        except idna.IDNAError:
            raise _reject("invalid internationalized host name") from None
        for label in unicode_host.split("."):
            _check_label_scripts(label)
        labels = idna.encode(unicode_host).decode("ascii").split(".")
    if len(".".join(labels)) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _reject("invalid host name")
    return ".".join(labels)


def _check_label_scripts(label: str) -> None:
    scripts = set()
    for char in label:
        if char.isascii() and not char.isalpha():
            continue  # digits and '-' belong to every script
        name = unicodedata.name(char, "UNKNOWN")
        scripts.add("LATIN" if char.isascii() else name.split(" ")[0])
    if len(scripts) > 1:
        raise _reject("host name mixes scripts (possible look-alike)")
    if scripts & _LOOKALIKE_SCRIPTS:
        raise _reject("host name uses a script with Latin look-alikes; use the punycode form")


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in NAT64) or int(ip) >> 32 == 0:  # NAT64 and ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress, allowed: tuple[IPNetwork, ...] = ()) -> str | None:
    """Why `ip` must not be contacted, or None when it is a public address (or allowlisted)."""
    if any(ip in net for net in allowed):
        return None
    inner = _embedded_ipv4(ip)
    if inner is not None:
        reason = blocked_reason(inner, allowed)
        if reason:
            return f"embeds {inner}: {reason}"
    checks = (
        (ip in METADATA_IPS, "cloud metadata address"),
        (ip.is_loopback, "loopback address"),
        (ip.is_unspecified, "unspecified address"),
        (ip.is_link_local, "link-local address"),
        (ip in CGNAT, "carrier-grade NAT range 100.64.0.0/10"),
        (ip.is_private, "private network address"),
        (ip.is_multicast, "multicast address"),
        (ip.is_reserved, "reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def resolve_checked(target: Target, policy: NetPolicy) -> list[str]:
    """Resolve the host ONCE and check every address; the result is what the connection pins to."""
    if target.literal_ip is not None:
        addresses: list[IPAddress] = [target.literal_ip]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise ResolveError(f"could not resolve host {target.host}") from None
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if ip not in addresses:
                addresses.append(ip)
    if not addresses:
        raise ResolveError(f"could not resolve host {target.host}")
    for ip in addresses:  # all of them: one private record among public ones is enough to refuse
        reason = blocked_reason(ip, policy.allowed_networks)
        if reason:
            raise _reject(f"{target.host} resolves to {ip} ({reason})")
    return [str(ip) for ip in addresses]


def egress_env_problems(env: Mapping[str, str] | None = None) -> list[str]:
    """Start-up check: settings that would weaken the egress policy."""
    env = os.environ if env is None else env
    problems = []
    if env.get("LANGCHAIN_ENV", "").lower().startswith("local"):
        problems.append("LANGCHAIN_ENV starts with 'local'; unset it in production")
    return problems
