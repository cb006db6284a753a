"""The client's address as the trusted proxy saw it, and nobody else's word for it.

Forwarded headers (`X-Forwarded-For`, `Forwarded`, `X-Forwarded-Proto`) are believed only when
the connection comes from an address in settings.trusted_proxies (none by default). Then the
client is the right-most address in the chain that is not itself a trusted proxy: everything to
its left was written by the client and proves nothing. Rate limits are keyed on this address, so
a client reaching the app directly cannot choose its bucket by sending headers, and behind the
proxy each client has a bucket of its own. uvicorn's own handling is turned off
(`--no-proxy-headers`, candor/serve.py and compose.yml): it trusts 127.0.0.1 by default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> list[Network]:
    """Addresses or networks ('10.0.0.5', '172.16.0.0/12'); ValueError names a bad one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or network") from exc
    return networks


def _address(text: str) -> str | None:
    """One hop as written in a header: '1.2.3.4', '1.2.3.4:5678', '[::1]:80', '"[::1]"'."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _hops(headers: Sequence[tuple[bytes, bytes]]) -> tuple[list[str | None], str | None]:
    """The forwarded chain, left to right, and the forwarded scheme if any."""
    forwarded_for: list[str | None] = []
    from_forwarded: list[str | None] = []
    scheme = None
    for name, value in headers:
        key = name.lower()
        text = value.decode("latin-1")
        if key == b"x-forwarded-for":
            forwarded_for += [_address(part) for part in text.split(",")]
        elif key == b"forwarded":
            for element in text.split(","):
                for pair in element.split(";"):
                    field, _, given = pair.partition("=")
                    if field.strip().lower() == "for":
                        from_forwarded.append(_address(given))
        elif key == b"x-forwarded-proto":
            scheme = text.split(",")[-1].strip().lower()
    # The standard header wins where a proxy sends both.
    return (from_forwarded or forwarded_for), scheme


def client_address(
    peer: str, headers: Sequence[tuple[bytes, bytes]], trusted: list[Network]
) -> str:
    """The address to key limits on for a connection from `peer` with these headers."""
    if not _trusted(peer, trusted):
        return peer
    chain, _scheme = _hops(headers)
    for hop in reversed(chain):
        if hop is None:  # garbled or 'unknown': stop at the last address we can vouch for
            return peer
        if not _trusted(hop, trusted):
            return hop
        peer = hop
    return peer


def _trusted(address: str, trusted: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class TrustedProxyMiddleware:
    """Rewrites the ASGI scope's client (and scheme) from forwarded headers, for trusted peers
    only; a peer that is not trusted keeps its own address, whatever its headers say."""

    def __init__(self, app: ASGIApp, trusted_proxies: Sequence[str]) -> None:
        self.app = app
        self.trusted = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted and scope.get("client"):
            peer = scope["client"][0]
            if _trusted(peer, self.trusted):
                headers = scope.get("headers", [])
                scope = dict(scope)
                scope["client"] = (client_address(peer, headers, self.trusted), 0)
                _chain, scheme = _hops(headers)
                if scheme in ("http", "https") and scope["type"] == "http":
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)
