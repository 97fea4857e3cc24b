"""The one outbound address policy (vodflow.net_policy) and its users' agreement."""

from __future__ import annotations

import asyncio

import pytest

from vodflow import net_policy
from vodflow.core import events as core_events
from vodflow.errors import VodError

REFUSED = [
    # IPv4 private, loopback, link-local, CGNAT, reserved, multicast, documentation
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 basics
    "::",
    "::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "100::1",
    # IPv6 forms that carry a private IPv4 address
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::808:808",  # local-use NAT64: refused whatever it carries
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::a00:1",  # IPv4-compatible 10.0.0.1
    "::808:808",  # IPv4-compatible (deprecated): refused whatever it carries
    "2001::1",  # Teredo
    "not an address",
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2002:808:808::1",  # 6to4 of a public address
    "64:ff9b::808:808",  # NAT64 of a public address
]


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses(address: str) -> None:
    assert net_policy.is_public(address) is False
    assert net_policy.allowed(address, allow_private=True) is True


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses(address: str) -> None:
    assert net_policy.is_public(address) is True


@pytest.mark.parametrize(
    "host",
    ["[2002:7f00:1::]", "[64:ff9b::a9fe:a9fe]", "[::7f00:1]", "100.64.0.1", "[64:ff9b:1::1]"],
)
def test_notification_url_refuses_embedded_private_ipv4(host: str) -> None:
    """NotificationUrl goes through the same policy (these passed the old check)."""
    with pytest.raises(VodError) as info:
        asyncio.run(core_events.check_notification_url(f"http://{host}/cb", allow_private=False))
    assert info.value.code == "InvalidParameterValue"
    assert "NotificationUrl" in info.value.message
    # ...and the operator's switch still lets them through.
    url = f"http://{host}/cb"
    assert asyncio.run(core_events.check_notification_url(url, allow_private=True)) == url


def test_resolve_allowed_refuses_a_name_with_any_private_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    def fake(host: str, port: object, *args: object, **kwargs: object) -> list[object]:
        assert host == "mixed.test"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 80)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::a00:1", 80, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(net_policy.AddressRefused) as info:
        asyncio.run(net_policy.resolve_allowed("mixed.test", 80, allow_private=False))
    assert str(info.value) == net_policy.REFUSED_MESSAGE
    assert asyncio.run(net_policy.resolve_allowed("mixed.test", 80, allow_private=True)) == [
        "8.8.8.8",
        "64:ff9b::a00:1",
    ]
