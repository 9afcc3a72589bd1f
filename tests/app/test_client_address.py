"""Which address a request comes from: the socket peer, or what trusted proxies vouch for."""

from __future__ import annotations

import ipaddress
import logging

import pytest

from app.client_address import ClientAddress, forwarded_client, parse_address

PROXIES = (ipaddress.ip_network("10.0.0.5"), ipaddress.ip_network("10.1.0.0/16"))


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        # one proxy, which appended the address it was connected from
        ("203.0.113.20", "203.0.113.20"),
        # what the client wrote itself sits to the left of what the proxy appended
        ("192.0.2.1, 203.0.113.20", "203.0.113.20"),
        ("127.0.0.1,10.0.0.5, 203.0.113.20", "203.0.113.20"),
        # two proxies: one hop per trusted proxy in the chain
        ("192.0.2.1, 203.0.113.20, 10.1.2.3", "203.0.113.20"),
        # the client's own claim to be a trusted proxy only moves it one place left
        ("203.0.113.20, 10.1.2.3, 10.0.0.5", "203.0.113.20"),
        # nothing but trusted proxies: the farthest of them
        ("10.1.2.3, 10.0.0.5", "10.1.2.3"),
        # something that is no address, where a proxy should have written one
        ("203.0.113.20, not-an-address", "10.0.0.5"),
        ("203.0.113.20, not-an-address, 10.1.2.3", "10.1.2.3"),
        ("", "10.0.0.5"),
        # ports, brackets and IPv4-mapped IPv6, written as the address they are
        ("203.0.113.20:51234", "203.0.113.20"),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("::ffff:203.0.113.20", "203.0.113.20"),
        ("2001:DB8:0:0::7", "2001:db8::7"),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_wrote(
    forwarded_for: str, client: str
) -> None:
    assert forwarded_client("10.0.0.5", forwarded_for, PROXIES) == client


def test_text_that_is_no_address_is_none() -> None:
    assert [parse_address(t) for t in ("", "unknown", "1.2.3", "[::1", "a:b:c")] == [None] * 5


async def scope_after(middleware: ClientAddress, peer: str, *headers: tuple[bytes, bytes]) -> dict:
    seen: dict = {}

    async def app(scope: dict, receive: object, send: object) -> None:
        seen.update(scope)

    middleware.app = app
    scope = {"type": "http", "scheme": "http", "client": (peer, 4321), "headers": list(headers)}
    await middleware(scope, None, None)  # type: ignore[arg-type]
    return seen


async def test_only_a_trusted_peer_changes_the_address_and_the_scheme() -> None:
    middleware = ClientAddress(lambda *_: None, PROXIES)  # type: ignore[arg-type]
    headers = ((b"x-forwarded-for", b"203.0.113.20"), (b"x-forwarded-proto", b"https"))

    via_proxy = await scope_after(middleware, "10.0.0.5", *headers)
    direct = await scope_after(middleware, "198.51.100.10", *headers)

    assert (via_proxy["client"], via_proxy["scheme"]) == (("203.0.113.20", 0), "https")
    assert (direct["client"], direct["scheme"]) == (("198.51.100.10", 4321), "http")


async def test_an_unlisted_proxy_nearby_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    """A proxy on the same host or network that nobody listed would make every client share
    its address; a client on the internet sending the header itself is no cause to warn."""
    middleware = ClientAddress(lambda *_: None)  # type: ignore[arg-type]
    header = (b"x-forwarded-for", b"203.0.113.20")

    with caplog.at_level(logging.WARNING, logger="riverchief.client_address"):
        from_outside = await scope_after(middleware, "93.184.216.34", header)
        warned_before = len(caplog.records)
        for _ in range(3):
            nearby = await scope_after(middleware, "127.0.0.1", header)

    assert (from_outside["client"], nearby["client"]) == (
        ("93.184.216.34", 4321),
        ("127.0.0.1", 4321),
    )
    assert warned_before == 0
    assert [r.getMessage() for r in caplog.records] == [
        "requests from 127.0.0.1 carry X-Forwarded-For, but it is not a trusted proxy: its"
        " header is ignored, and every client behind it shares its address for login"
        " throttling. If it is your reverse proxy, list it in RIVERCHIEF_TRUSTED_PROXIES."
    ]
