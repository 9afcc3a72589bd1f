"""The client's address: the socket peer, unless that peer is a trusted reverse proxy.

Logins are throttled per client address, so the address must be one a client cannot choose.
With no trusted proxy configured (``RIVERCHIEF_TRUSTED_PROXIES``, the default) it is the
socket peer and every forwarding header is ignored. When the peer is a trusted proxy, the
address is read from ``X-Forwarded-For`` right to left: each proxy appends the address it
was connected from, so entries that are themselves trusted proxies are skipped (one hop per
trusted proxy in the chain) and the first one that is not is the client. Entries to its left
were written by the client and are never read. ``X-Forwarded-Proto`` from a trusted proxy
sets the scheme. Neither ``X-Real-IP`` nor ``Forwarded`` is read.
"""

from __future__ import annotations

import ipaddress
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from core.settings import Network

log = logging.getLogger("riverchief.client_address")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = {
    "http": {"http": "http", "https": "https"},
    "websocket": {"http": "ws", "https": "wss"},
}
UNTRUSTED_PROXY = (
    "requests from %s carry X-Forwarded-For, but it is not a trusted proxy: its header is"
    " ignored, and every client behind it shares its address for login throttling. If it is"
    " your reverse proxy, list it in RIVERCHIEF_TRUSTED_PROXIES."
)


def parse_address(text: str) -> Address | None:
    """An address as a header or a server gives it (``[v6]:port`` and ``v4:port`` too), an
    IPv4-mapped IPv6 address as the IPv4 one; None for anything else."""
    text = text.strip()
    if text.startswith("["):
        text, bracket, _ = text[1:].partition("]")
        if not bracket:
            return None
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted(address: Address | None, proxies: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in proxies)


def forwarded_client(peer: str, forwarded_for: str, proxies: tuple[Network, ...]) -> str:
    """The client's address, for a request whose socket peer is a trusted proxy: the
    rightmost ``X-Forwarded-For`` entry that is not a trusted proxy. Should the chain hold
    only trusted proxies, or something that is no address, the last one vouched for."""
    nearest = peer
    for entry in reversed(forwarded_for.split(",")):
        address = parse_address(entry)
        if address is None:
            break
        if not trusted(address, proxies):
            return str(address)
        nearest = str(address)
    return nearest


class ClientAddress:
    """Puts the client's address in ``scope["client"]`` for everything inside it."""

    def __init__(self, app: ASGIApp, proxies: tuple[Network, ...] = ()) -> None:
        self.app = app
        self.proxies = proxies
        self.warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in SCHEMES and scope.get("client"):
            self.resolve(scope)
        await self.app(scope, receive, send)

    def resolve(self, scope: Scope) -> None:
        peer = str(scope["client"][0])
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        if not trusted(parse_address(peer), self.proxies):
            if forwarded and not self.warned:
                self.warn_once(peer)
            return
        if forwarded:
            scope["client"] = (forwarded_client(peer, ",".join(forwarded), self.proxies), 0)
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                proto = value.decode("latin-1").split(",")[-1].strip().lower()
                scope["scheme"] = SCHEMES[scope["type"]].get(proto, scope.get("scheme"))

    def warn_once(self, peer: str) -> None:
        """A proxy on this host or network that nobody listed: every client would share its
        address. A client on the internet sending the header itself is no cause to warn."""
        address = parse_address(peer)
        if address is not None and (address.is_loopback or address.is_private):
            self.warned = True
            log.warning(UNTRUSTED_PROXY, peer)
