"""Where webhooks may go: http(s) URLs whose addresses are public, unless configured otherwise.

A subscription pointing at a private, loopback or link-local address would let anyone who can
create one probe the internal network (server-side request forgery). The check runs when a
subscription is saved and again before every attempt, against the addresses the name resolves to
then; the connection goes to the address that was checked, so a name cannot change its answer
between the check and the request.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from crmkit.worker.settings import setting

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL is malformed or points where webhooks may not go."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def parse(url: str) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http:// or https:// URL")
    if not parts.hostname:
        raise TargetRefused("has no host")
    if parts.username or parts.password:
        raise TargetRefused("must not contain a user name or password")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname.lower(),
                  port or (443 if parts.scheme == "https" else 80), path)


def _allow_list(config: Mapping[str, object]) -> tuple[set[str], list]:
    names, networks = set(), []
    for entry in str(setting(config, "WEBHOOKS_ALLOWED_HOSTS")).split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry)
    return names, networks


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(target: Target) -> list[Address]:
    try:
        literal = ipaddress.ip_address(target.host)
        return [literal]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"host {target.host!r} does not resolve: {exc.strerror}") from None
    seen: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen


def checked_address(target: Target, config: Mapping[str, object]) -> Address:
    """The address to connect to; raises :class:`TargetRefused` when any is not allowed."""
    addresses = resolve(target)
    if not addresses:
        raise TargetRefused(f"host {target.host!r} has no address")
    if setting(config, "WEBHOOKS_ALLOW_PRIVATE"):
        return addresses[0]
    names, networks = _allow_list(config)
    if target.host in names:
        return addresses[0]
    for address in addresses:
        if not _public(address) and not any(address in net for net in networks):
            raise TargetRefused(
                f"{target.host} resolves to {address}, a private, loopback or reserved address; "
                "set CRMKIT_WEBHOOKS_ALLOWED_HOSTS (or CRMKIT_WEBHOOKS_ALLOW_PRIVATE) to allow it")
    return addresses[0]


def check_url(url: str, config: Mapping[str, object]) -> Target:
    """Validate a subscription URL as it is saved. A name that does not resolve yet is accepted
    (its deliveries fail and are logged until it does); a forbidden address is refused."""
    target = parse(url)
    try:
        checked_address(target, config)
    except TargetRefused as exc:
        if "does not resolve" not in str(exc) and "has no address" not in str(exc):
            raise
    return target
