"""SSRF policy (RELIABILITY E1-E5, E8-E10): refused before any connection is even attempted."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from agent_app.errors import UnsafeURLError
from agent_app.toolbox.netguard import (
    NetPolicy,
    blocked_reason,
    egress_env_problems,
    parse_url,
)
from agent_app.toolbox.webreader import fetch, make_read_webpage
from tests.plugins.netfakes import PUBLIC_IP, FakeResolver, RecordingBackend

pytestmark = pytest.mark.unit

NAMES = {
    "public.example": [PUBLIC_IP],
    "metadata.example": ["100.100.100.200"],
    "aws-meta.example": ["169.254.169.254"],
    "ten.example": ["10.1.2.3"],
    "cgnat.example": ["100.64.0.9"],
    "v6private.example": ["fd12::1"],
    "mixed.example": [PUBLIC_IP, "8.8.8.8", "192.168.0.7"],
    "mixed6.example": [PUBLIC_IP, "::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "nat64.example": ["64:ff9b::a9fe:a9fe"],
}


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    fake = FakeResolver(NAMES)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def refused(url: str, resolver: FakeResolver) -> tuple[str, RecordingBackend]:
    backend = RecordingBackend({PUBLIC_IP: 9})
    with pytest.raises(UnsafeURLError) as info:
        fetch(url, backend=backend)
    assert backend.attempts == [], f"connection attempted for {url}"
    return info.value.detail, backend


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:80/",
        "http://127.0.0.1/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://a.localhost/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[::]/",
    ],
)
def test_e1_loopback_and_unspecified_are_refused(url: str, resolver: FakeResolver) -> None:
    refused(url, resolver)
    assert "localhost" not in resolver.calls  # names on the list never even reach DNS


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://metadata.example/",
        "http://aws-meta.example/",
        "http://168.63.129.16/",
        "http://[fd00:ec2::254]/",
    ],
)
def test_e2_cloud_metadata_is_refused(url: str, resolver: FakeResolver) -> None:
    refused(url, resolver)


def test_e2_alibaba_metadata_is_not_private_yet_blocked() -> None:
    ip = ipaddress.ip_address("100.100.100.200")
    assert ip.is_private is False  # the trap: an is_private check alone lets it through
    assert blocked_reason(ip) == "cloud metadata address"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://100.127.255.254/",
        "http://[fc00::1]/",
        "http://[fe80::1]/",
        "http://ten.example/",
        "http://cgnat.example/",
        "http://v6private.example/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://198.18.0.1/",
    ],
)
def test_e3_private_ranges_are_refused(url: str, resolver: FakeResolver) -> None:
    refused(url, resolver)


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://017700000001/",
    ],
)
def test_e4_numeric_spellings_are_decoded_then_refused(url: str, resolver: FakeResolver) -> None:
    detail, _ = refused(url, resolver)
    assert "127.0.0.1" in detail and "loopback" in detail


def test_e4_public_numeric_spelling_is_still_ambiguous(resolver: FakeResolver) -> None:
    detail, _ = refused("http://134744072/", resolver)  # 8.8.8.8 spelled as one number
    assert "8.8.8.8" in detail


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[::127.0.0.1]/",
        "http://[2002:7f00:1::1]/",
        "http://[64:ff9b:1::a00:1]/",
        "http://mapped.example/",
        "http://nat64.example/",
    ],
)
def test_e5_embedded_ipv4_is_extracted(url: str, resolver: FakeResolver) -> None:
    refused(url, resolver)


def test_e5_nat64_is_global_but_blocked() -> None:
    ip = ipaddress.ip_address("64:ff9b::a9fe:a9fe")
    assert ip.is_global is True
    assert "169.254.169.254" in blocked_reason(ip)


@pytest.mark.parametrize("url", ["http://mixed.example/", "http://mixed6.example/"])
def test_e8_one_private_record_among_public_ones(url: str, resolver: FakeResolver) -> None:
    detail, _ = refused(url, resolver)
    assert resolver.calls == [url.split("/")[2]]  # resolved exactly once
    assert "192.168.0.7" in detail or "::1" in detail


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.com\\@127.0.0.1/",
        "http://127.0.0.1#@evil.com/",
        "http://user@127.0.0.1:80@evil.com/",
        "http://user:pw@public.example/",
        "http://public.example/#@127.0.0.1",
        "http://public.example%2f@x/",
        "http://pub lic.example/",
        "http://public.example\t/",
        "http:\\\\127.0.0.1\\",
        "http://аpple.com/",
        "http://xn--pple-43d.com/",
        "http://gοogle.com/",
        "http://[fe80::1%25eth0]/",
    ],
)
def test_e9_ambiguous_urls_are_refused_before_dns(url: str, resolver: FakeResolver) -> None:
    refused(url, resolver)
    assert resolver.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "ftp://public.example/",
        "dict://x:11211/",
        "data:text/html,hi",
        "javascript:alert(1)",
        "http://public.example:22/",
        "http://public.example:6379/",
        "http://public.example:11434/",
        "https://public.example:8443/",
        "//public.example/",
        "public.example",
        "",
        "http://",
        "http://:80/",
    ],
)
def test_e10_only_http_https_on_allowed_ports(url: str, resolver: FakeResolver) -> None:
    refused(url, resolver)
    assert resolver.calls == []


def test_e10_port_allowlist_is_a_policy_setting() -> None:
    policy = NetPolicy(allowed_ports=frozenset({80, 443, 8080}))
    assert (
        parse_url("http://public.example:8080/x?q=1", policy).url
        == "http://public.example:8080/x?q=1"
    )


def test_request_is_rebuilt_from_parsed_parts() -> None:
    target = parse_url("HTTP://Public.Example.:80/a/../b?x=1#frag", NetPolicy())
    assert target.url == "http://public.example/a/../b?x=1"
    assert target.host == "public.example" and target.port == 80


def test_idn_single_script_names_are_punycoded() -> None:
    target = parse_url("http://例子.中国/路径", NetPolicy())
    assert target.host == "xn--fsqu00a.xn--fiqs8s"


def test_tool_reports_refusal_as_text(resolver: FakeResolver) -> None:
    backend = RecordingBackend()
    tool = make_read_webpage(backend=backend)
    out = tool.invoke(
        {
            "type": "tool_call",
            "id": "c1",
            "name": "read_webpage",
            "args": {"url": "http://100.100.100.200/latest/meta-data/"},
        }
    )
    assert out.status == "error" and out.content.startswith("URL not allowed")
    assert "Traceback" not in out.content and backend.attempts == []


def test_e12_langchain_env_local_is_flagged() -> None:
    assert egress_env_problems({"LANGCHAIN_ENV": "local_dev"})
    assert egress_env_problems({}) == []
