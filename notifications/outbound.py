"""Where the worker may send a party's webhook — the one rule, used by the registry (the channel's URL
validator) and by the transport at connect time.

- http or https only (https only when ``SEQUESTER_WEBHOOK_REQUIRE_HTTPS``, on in production);
- never a private, loopback, link-local, multicast, reserved or unspecified address, unless it is in
  ``SEQUESTER_WEBHOOK_ALLOWED_NETWORKS`` (CIDRs);
- the check is made on the address actually connected to, after resolution, and the connection is made
  to that checked address (a DNS answer that changes between check and connect — rebinding — gains
  nothing); the Host header and TLS name stay the URL's host;
- redirects are not followed (a 3xx is a permanent failure, recorded).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ValueError):
    """The URL or the address it resolves to is not one the worker may reach."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in settings.SEQUESTER_WEBHOOK_ALLOWED_NETWORKS]


def outbound_url_check(url: str) -> Target:
    """The URL's scheme and shape; raise ``OutboundRefused``."""
    parts = urlsplit(url)
    schemes = ("https",) if settings.SEQUESTER_WEBHOOK_REQUIRE_HTTPS else ("http", "https")
    if parts.scheme not in schemes:
        raise OutboundRefused(f"a webhook URL must use {' or '.join(schemes)}, not {parts.scheme or 'nothing'!r}")
    if not parts.hostname or parts.username or parts.password:
        raise OutboundRefused("a webhook URL names a host, without credentials in it")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused("the webhook URL's port is not a port") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path)


def outbound_address_check(address: IpAddress) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return
    internal = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )
    if internal:
        raise OutboundRefused(
            f"{address} is an internal address (private, loopback or link-local); "
            "allow its network in SEQUESTER_WEBHOOK_ALLOWED_NETWORKS if it is meant"
        )


def _resolve(host: str, port: int) -> Iterable[tuple[int, IpAddress]]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from exc
    for family, _type, _proto, _name, sockaddr in answers:
        yield family, ipaddress.ip_address(sockaddr[0])


def outbound_connect(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first allowed address ``host`` resolves to (refusing internal ones)."""
    refused: OutboundRefused | None = None
    last_error: OSError | None = None
    for family, address in _resolve(host, port):
        try:
            outbound_address_check(address)
        except OutboundRefused as exc:
            refused = exc
            continue
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((str(address), port))
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        return sock
    if last_error is not None:
        raise last_error
    raise refused or OSError(f"{host} resolved to no address")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = outbound_connect(self.host, self.port, self.timeout or 10)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = outbound_connect(self.host, self.port, self.timeout or 10)
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(sock, server_hostname=self.host)


def outbound_post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST once, follow nothing; the status. Raises ``OutboundRefused`` or ``OSError``."""
    target = outbound_url_check(url)
    kind = _CheckedHTTPSConnection if target.scheme == "https" else _CheckedHTTPConnection
    connection = kind(target.host, target.port, timeout=timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # a receiver's answer is not evidence: read a little, drop it
        return int(response.status)
    finally:
        connection.close()


def outbound_url_validator(url: str) -> None:
    """The registry's check of a channel URL (the address is checked again at every connect)."""
    try:
        outbound_url_check(url)
    except OutboundRefused as exc:
        raise ValidationError(str(exc)) from None
