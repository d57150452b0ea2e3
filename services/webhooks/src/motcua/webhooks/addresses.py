"""SSRF safety: a subscriber's host must resolve only to public addresses (outside development), and the
connection goes to the very address that was checked, so a name that changes its answer between the check
and the connection (DNS rebinding) reaches nothing private.

`Policy.refusal(ip)` is the rule; `resolve_checked` resolves a host and applies it; `PinnedBackend` is the
httpcore network backend the delivery client connects through: it resolves, checks, then connects to the
checked address, while TLS still verifies the certificate against the host's name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
from httpcore._backends.auto import AutoBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddress(httpcore.ConnectError):
    """The host resolves to an address deliveries may not reach (private, loopback, link-local…)."""


class Unresolvable(httpcore.ConnectError):
    """The host has no address."""


@dataclass(frozen=True)
class Policy:
    """Which addresses deliveries may reach: public ones, those in `allowed` too, and any in development."""

    development: bool
    allowed: tuple[Network, ...] = ()

    def refusal(self, ip: IPAddress) -> str | None:
        """Why `ip` may not be reached, or None when it may."""
        if self.development:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowed if network.version == ip.version):
            return None
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_link_local:
            return "a link-local address"
        if ip.is_private or ip.is_reserved or ip.is_unspecified or ip.is_multicast or not ip.is_global:
            return "a private or reserved address"
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses of `host` (an address literal is its own)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unresolvable(f"{host} does not resolve: {exc.strerror or exc}") from None
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise Unresolvable(f"{host} does not resolve")
    return found


async def resolve_checked(host: str, port: int, policy: Policy) -> list[IPAddress]:
    """The addresses of `host`, all allowed by `policy`; RefusedAddress when any one is not."""
    addresses = await resolve(host, port)
    for ip in addresses:
        why = policy.refusal(ip)
        if why is not None:
            raise RefusedAddress(f"{host} resolves to {why} ({ip}); deliveries may not go there")
    return addresses


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the checked addresses of a host, trying each in turn."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._inner = AutoBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_checked(host, port, self._policy)
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("deliveries never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
