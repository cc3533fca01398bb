"""The address guard: loopback, private, link-local and metadata targets are refused."""

from __future__ import annotations

import ipaddress

import pytest

from postback.forwarding import targets

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111"]


@pytest.mark.parametrize("address", REFUSED)
def test_not_public(address):
    assert not targets.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address):
    assert targets.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/x",
        "http://localhost/x",
        "http://169.254.169.254/latest/meta-data/",
        "https://[::1]/x",
        "http://10.0.0.7/postback",
        "http://[::ffff:10.0.0.7]/x",
        "http://0x7f000001/x",  # 127.0.0.1 written in hex
        "http://2130706433/x",  # 127.0.0.1 as one number
    ],
)
async def test_check_refuses(url):
    with pytest.raises(targets.TargetRefused, match="POSTBACK_FORWARD_ALLOW_PRIVATE"):
        await targets.check(url, allow_private=False)


async def test_check_allows_when_configured():
    found = await targets.check("http://127.0.0.1:8000/x", allow_private=True)
    assert (found.host, found.port, found.address) == ("127.0.0.1", 8000, None)


async def test_a_public_literal_is_pinned():
    found = await targets.check("https://93.184.216.34/x", allow_private=False)
    assert (found.port, found.address) == (443, "93.184.216.34")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("http:///x", "no host"),
        ("http://example.com:99999/x", "not a valid URL"),
    ],
)
async def test_malformed(url, message):
    with pytest.raises(targets.TargetRefused, match=message):
        await targets.check(url, allow_private=False)
