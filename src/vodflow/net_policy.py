"""The outbound address policy: which hosts vodflow may connect to on a user's behalf.

One rule for every URL a user hands vodflow to fetch or call: PullUpload's
MediaUrl and CoverUrl, and an application's NotificationUrl (checked when set,
and again at every connect by the push relay). Unless the operator allows
private URLs (VODFLOW_ALLOW_PRIVATE_URLS=1), an address must be globally
routable unicast:

- IPv4: not this-network, private (RFC 1918), shared/CGNAT (100.64/10), loopback,
  link-local, IETF protocol assignments, documentation, benchmarking, 6to4 relay
  anycast, multicast, reserved (240/4) or broadcast;
- IPv6: not unspecified, loopback, unique-local, link-local, site-local, multicast,
  discard, documentation, Teredo or other IETF assignments; and the forms that
  carry an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, 6to4 2002::/16, NAT64
  64:ff9b::/96) are judged by the IPv4 address they carry. IPv4-compatible
  ::a.b.c.d (deprecated) and local-use NAT64 64:ff9b:1::/48 are refused outright.

A host name is allowed only when *every* address it resolves to is; callers then
connect to one of exactly those addresses (`resolve_allowed`), never resolving
again, so a DNS answer cannot change between the check and the connect (DNS
rebinding); `CheckedBackend` does this for httpx/httpcore clients. This module
imports nothing from vodflow: it is the bottom layer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Final

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

REFUSED_MESSAGE: Final = (
    "The URL's host is not a public address (private, loopback, link-local, "
    "multicast or reserved); refused."
)
"""The one message for every refused target, whatever is (or is not) listening there."""

_V4_BLOCKED: Final = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # this network
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared address space (CGNAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata)
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.31.196.0/24",  # AS112
        "192.52.193.0/24",  # AMT
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # private
        "192.175.48.0/24",  # AS112 direct delegation
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and 255.255.255.255
    )
)

_V6_BLOCKED: Final = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback, IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")
_SIX_TO_FOUR: Final = ipaddress.IPv6Network("2002::/16")
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(Exception):
    """The target resolves to an address the policy refuses."""

    def __init__(self) -> None:
        super().__init__(REFUSED_MESSAGE)


class Unresolvable(Exception):
    """The host name does not resolve (or not in time)."""


def parse(address: str) -> IPAddress:
    """An address as getaddrinfo or a URL gives it (an IPv6 zone `%eth0` dropped)."""
    return ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries by a translation scheme, if any."""
    if ip in _MAPPED:
        return ip.ipv4_mapped
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress | str) -> bool:
    """Whether vodflow may connect to `ip` when private URLs are not allowed."""
    if isinstance(ip, str):
        try:
            ip = parse(ip)
        except ValueError:
            return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public(inner)
        if any(ip in net for net in _V6_BLOCKED):
            return False
    elif any(ip in net for net in _V4_BLOCKED):
        return False
    # The standard library's view as a second opinion (it knows newer assignments).
    return ip.is_global and not ip.is_multicast


def allowed(ip: IPAddress | str, *, allow_private: bool) -> bool:
    return allow_private or is_public(ip)


async def resolve_allowed(
    host: str, port: int, *, allow_private: bool, timeout: float = 10.0
) -> list[str]:
    """The addresses to connect to for `host`: resolved once, every one checked.

    Raises AddressRefused when any address is refused (a name with one private
    address among public ones is refused whole), Unresolvable when the name
    does not resolve. Connect only to what this returns.
    """
    try:
        literal: IPAddress | None = parse(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
            )
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise Unresolvable(f"The host {host[:100]} cannot be resolved.") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise Unresolvable(f"The host {host[:100]} cannot be resolved.")
    if not all(allowed(a, allow_private=allow_private) for a in addresses):
        raise AddressRefused
    return addresses


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy allows.

    The host name is resolved here once and checked (`resolve_allowed`); the TCP
    connection goes to one of those very addresses, while TLS (SNI, certificate
    check) and the Host header keep the original name, as httpcore sets them.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_allowed(host, port, allow_private=self.allow_private)
        error: Exception = httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not an outbound target.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
