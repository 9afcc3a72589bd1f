"""Attacks on authentication: forged tokens, guessing, enumeration, timing, secret comparisons.

``test_authentication`` covers the ordinary failures (expired, not yet valid, ``alg: none``,
tampered, wrong secret, deactivated, revoked, throttling by account and address). These are
the forgeries an attacker tries next, and the side channels: whether any two refusals can be
told apart, whether a spoofed client address escapes throttling, whether every guess lands in
the audit trail, whether an unknown name answers faster than a wrong password.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import clock
from core.security import TOKEN_ISSUER
from models.audit import AuditEvent
from models.people import LoginFailure, User
from resolvers.accounts import MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS, MAX_FAILURES_PER_ADDRESS
from tests.fixtures import TEST_SECRET, Tree
from tests.hostile import assert_no_leak
from tests.http.client import CLIENT_ADDRESS, GraphQLClient, app_settings, clients_from
from tests.servers import Server, running_server

ME = "{ me { username } }"
LOGIN = (
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p)"
    " { token errors { field code message } } }"
)
ROOT = Path(__file__).resolve().parents[2]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def part(obj: Any) -> str:
    return b64(json.dumps(obj).encode())


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes, digest: Any) -> str:
    """A JWS signed by hand, so that nothing refuses to make it."""
    signing_input = f"{part(header)}.{part(claims)}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(signature)}"


def claims(user: User, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    found: dict[str, Any] = {
        "sub": str(user.id),
        "ver": user.token_version,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": TOKEN_ISSUER,
    }
    found.update(overrides)
    return {k: v for k, v in found.items() if v is not None}


SECRET = TEST_SECRET.encode()
HS256 = {"alg": "HS256", "typ": "JWT"}


def forgeries(tree: Tree) -> dict[str, str]:
    admin = tree.users["county_admin"]
    good = claims(admin)
    genuine = forge(HS256, good, SECRET, hashlib.sha256)
    signing_input, _, signature = genuine.rpartition(".")
    return {
        # unsigned, in every spelling
        **{
            f"alg-{alg}": f"{part({'alg': alg, 'typ': 'JWT'})}.{part(good)}."
            for alg in ("None", "NONE", "nOnE")
        },
        "alg-none-with-a-real-signature": (f"{part({'alg': 'none'})}.{part(good)}.{signature}"),
        "no-alg": forge({"typ": "JWT"}, good, SECRET, hashlib.sha256),
        # the right secret, another algorithm: only HS256 is accepted
        "hs384-right-secret": forge({"alg": "HS384"}, good, SECRET, hashlib.sha384),
        "hs512-right-secret": forge({"alg": "HS512"}, good, SECRET, hashlib.sha512),
        # algorithm confusion: an asymmetric header over an HMAC, keyed with public-ish text
        "rs256-header-hmac-body": forge({"alg": "RS256"}, good, SECRET, hashlib.sha256),
        "es256-header-hmac-body": forge({"alg": "ES256"}, good, SECRET, hashlib.sha256),
        "ps256-header-hmac-body": forge({"alg": "PS256"}, good, b"", hashlib.sha256),
        **{
            f"hs256-keyed-with-{name}": forge(HS256, good, key, hashlib.sha256)
            for name, key in {
                "empty": b"",
                "issuer": TOKEN_ISSUER.encode(),
                "secret-word": b"secret",
                "username": b"county_admin",
                "dev-notice": b"RIVERCHIEF_SECRET is not set",
            }.items()
        },
        # header injection pointing the verifier at keys the attacker controls
        "kid-dev-null": forge(
            {**HS256, "kid": "../../../../../../dev/null"}, good, b"", hashlib.sha256
        ),
        "kid-sql": forge({**HS256, "kid": "x' UNION SELECT 'k"}, good, b"k", hashlib.sha256),
        "jku": forge(
            {**HS256, "jku": "https://attacker.example/jwks.json"}, good, b"k", hashlib.sha256
        ),
        "x5u": forge(
            {**HS256, "x5u": "https://attacker.example/cert.pem"}, good, b"k", hashlib.sha256
        ),
        "embedded-jwk": forge(
            {**HS256, "jwk": {"kty": "oct", "k": b64(b"attacker-key")}},
            good,
            b"attacker-key",
            hashlib.sha256,
        ),
        # claims: every one required, each checked
        "wrong-issuer": forge(HS256, claims(admin, iss="someone-else"), SECRET, hashlib.sha256),
        "issuer-list": forge(HS256, claims(admin, iss=[TOKEN_ISSUER]), SECRET, hashlib.sha256),
        **{
            f"missing-{claim}": forge(HS256, claims(admin, **{claim: None}), SECRET, hashlib.sha256)
            for claim in ("sub", "exp", "iat", "nbf", "iss")
        },
        "sub-not-a-number": forge(HS256, claims(admin, sub="county_admin"), SECRET, hashlib.sha256),
        "sub-an-integer": forge(HS256, claims(admin, sub=admin.id), SECRET, hashlib.sha256),
        "sub-of-nobody": forge(HS256, claims(admin, sub="987654321"), SECRET, hashlib.sha256),
        "sub-beyond-32-bits": forge(HS256, claims(admin, sub=str(2**40)), SECRET, hashlib.sha256),
        "sub-huge": forge(HS256, claims(admin, sub="9" * 400), SECRET, hashlib.sha256),
        "expired-a-second-ago": forge(
            HS256, claims(admin, exp=int(time.time()) - 1), SECRET, hashlib.sha256
        ),
        "issued-in-the-future": forge(
            HS256, claims(admin, iat=int(time.time()) + 3600), SECRET, hashlib.sha256
        ),
        "version-ahead": forge(
            HS256, claims(admin, ver=admin.token_version + 1), SECRET, hashlib.sha256
        ),
        "version-a-string": forge(HS256, claims(admin, ver="x"), SECRET, hashlib.sha256),
        # the shape of the token itself
        "four-segments": genuine + ".AAAA",
        "two-segments": signing_input,
        "signature-of-another-token": f"{part(HS256)}.{part(claims(admin, exp=2**40))}.{signature}",
        "payload-not-json": f"{part(HS256)}.{b64(b'not json')}."
        + b64(
            hmac.new(SECRET, f"{part(HS256)}.{b64(b'not json')}".encode(), hashlib.sha256).digest()
        ),
        "header-not-json": f"{b64(b'{')}.{part(good)}.{signature}",
        "very-long": genuine + "A" * 60_000,
        "padding-added": genuine + "==",
    }


async def test_every_forged_token_gets_the_same_401(client: GraphQLClient, tree: Tree) -> None:
    genuine = forge(HS256, claims(tree.users["county_admin"]), SECRET, hashlib.sha256)
    assert (await client.run(ME, token=genuine))["data"]["me"] == {"username": "county_admin"}

    answers = {}
    for name, token in forgeries(tree).items():
        response = await client.post(ME, token=token)

        assert response.status_code == 401, (name, response.text)
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"', name
        assert_no_leak(response.text)
        answers[name] = response.content

    # One answer for every reason: nothing tells the forger which check failed.
    assert len(set(answers.values())) == 1, set(answers.values())


MALFORMED_AUTHORIZATION = [
    b"Bearer",
    b"Bearer ",
    b"Bearer  \t ",
    b"Bearer a.b.c",
    b"Token abc",
    b"Basic Y291bnR5X2FkbWluOmRlbW8tcGFzcw==",
    b"Bearer \xff\xfe.\xfd",
    b"Bearer " + b"x" * 8000,
    b"bearer ey.ey.sig",
]


async def test_malformed_authorization_headers_are_refused_alike(client: GraphQLClient) -> None:
    answers = set()
    for authorization in MALFORMED_AUTHORIZATION:
        response = await client.http.post(
            "/graphql",
            content=json.dumps({"query": ME}).encode(),
            headers=[(b"content-type", b"application/json"), (b"authorization", authorization)],
        )

        assert response.status_code == 401, authorization[:40]
        assert_no_leak(response.text)
        answers.add(response.content)
    assert len(answers) == 1


async def test_a_token_outside_the_authorization_header_is_ignored(
    client: GraphQLClient, tree: Tree
) -> None:
    token = forge(HS256, claims(tree.users["county_admin"]), SECRET, hashlib.sha256)

    in_cookie = await client.http.post(
        "/graphql", json={"query": ME}, headers={"cookie": f"token={token}"}
    )
    in_query = await client.http.post(f"/graphql?access_token={token}", json={"query": ME})
    in_body = await client.http.post("/graphql", json={"query": ME, "token": token})

    for response in (in_cookie, in_query, in_body):
        assert response.json() == {"data": {"me": None}}


async def test_a_token_stops_working_on_the_next_request_once_its_account_is_deactivated(
    client: GraphQLClient, tree: Tree
) -> None:
    """Also for a token issued moments before, and for a mutation, not only a read."""
    token = await client.login("county_admin")
    mutation = (
        'mutation($id: ID!) { transitionTask(input: { taskId: $id, action: URGE, note: "go" })'
        " { errors { code } } }"
    )
    first = await client.run(mutation, {"id": tree.task_gid("zhaxi")}, token)
    assert first["data"]["transitionTask"]["errors"] == []
    events = await AuditEvent.all().count()

    await User.filter(id=tree.users["county_admin"].id).update(is_active=False)
    refused = await client.post(mutation, {"id": tree.task_gid("zhaxi")}, token)

    assert refused.status_code == 401
    assert await AuditEvent.all().count() == events  # nothing done on the refused request


async def login_once(client: GraphQLClient, username: str, password: str, **headers: str) -> Any:
    response = await client.http.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"u": username, "p": password}},
        headers=headers,
    )
    return response


async def test_unknown_name_wrong_password_and_deactivated_account_are_indistinguishable(
    client: GraphQLClient, tree: Tree
) -> None:
    await User.filter(id=tree.users["luobu_head"].id).update(is_active=False)

    answers = [
        await login_once(client, "no-such-person", "demo-pass"),
        await login_once(client, "zhaxi_head", "not-the-password"),
        await login_once(client, "luobu_head", "demo-pass"),  # right password, deactivated
        await login_once(client, "ZHAXI_HEAD", "demo-pass"),  # another spelling of a name
    ]

    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    assert answers[0].json()["data"]["login"] == {
        "token": None,
        "errors": [
            {
                "field": None,
                "code": "INVALID_CREDENTIALS",
                "message": "Unknown username or wrong password.",
            }
        ],
    }


async def test_an_unknown_name_takes_as_long_to_refuse_as_a_wrong_password(
    client: GraphQLClient, tree: Tree
) -> None:
    """A dummy argon2 verification runs for unknown names: the medians of the tries, taken in
    turns, stay within a factor of two whatever the machine's speed. (Each try costs an
    argon2 verification, ~0.15-0.35 s here: 11 of each keep the test to a few seconds.)"""
    unknown: list[float] = []
    known: list[float] = []
    for attempt in range(11):
        for name, times in (("zhaxi_head", known), (f"ghost-{attempt}", unknown)):
            started = time.perf_counter()
            response = await login_once(client, name, f"wrong-{attempt}")
            times.append(time.perf_counter() - started)
            assert response.json()["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
        await LoginFailure.all().delete()  # stay under the throttle: it is not what is timed

    ratio = statistics.median(unknown) / statistics.median(known)

    assert 0.5 < ratio < 2.0, f"unknown/known median ratio {ratio:.2f}"


async def failures_already(count: int, *, username: str = "", address: str = "") -> None:
    """Earlier failures, as the login records them (a real one costs an argon2 check)."""
    now = datetime.now(UTC)
    for i in range(count):
        await LoginFailure.create(
            username=username or f"earlier-guess-{i}", address=address or "203.0.113.9", at=now
        )


ADDRESS_A = "198.51.100.10"
ADDRESS_B = "203.0.113.20"


async def test_five_wrong_passwords_from_one_address_do_not_lock_the_account_elsewhere(
    tree: Tree,
) -> None:
    """The red-team case: an attacker who knows a name cannot lock its owner out. Five wrong
    passwords from A throttle A for that account; the owner, at B, still logs in, and that
    login does not give A its guesses back."""
    async with clients_from(ADDRESS_A, ADDRESS_B) as (attacker, owner):
        guesses = [await login_once(attacker, "zhaxi_head", f"wrong-{i}") for i in range(5)]
        right_from_a = await login_once(attacker, "zhaxi_head", "demo-pass")
        right_from_b = await login_once(owner, "zhaxi_head", "demo-pass")
        again_from_a = await login_once(attacker, "zhaxi_head", "demo-pass")

    assert [g.json()["data"]["login"]["errors"][0]["code"] for g in guesses] == [
        "INVALID_CREDENTIALS"
    ] * 5
    assert right_from_a.json()["data"]["login"]["token"] is None
    assert right_from_a.json()["data"]["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    assert right_from_b.json()["data"]["login"]["errors"] == []
    assert right_from_b.json()["data"]["login"]["token"]
    assert again_from_a.json()["data"]["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    assert await LoginFailure.filter(username="zhaxi_head", address=ADDRESS_A).count() == 5


async def failures_from_many_addresses(
    count: int, username: str, *, last: str, now: datetime | None = None
) -> datetime:
    """Wrong passwords for one account just now (or at ``now``), one from each of ``count``
    addresses, the last of them ``last``; returns their time."""
    now = now or datetime.now(UTC)
    addresses = [f"192.0.2.{i}" for i in range(count - 1)] + [last]
    await LoginFailure.bulk_create(
        [LoginFailure(username=username, address=address, at=now) for address in addresses]
    )
    return now


def throttled(wait: str) -> dict[str, Any]:
    message = f"Too many failed logins: try again in {wait}."
    return {
        "token": None,
        "errors": [{"field": None, "code": "TOO_MANY_ATTEMPTS", "message": message}],
    }


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (19, ""),
        (20, "1 second"),
        (21, "2 seconds"),
        (24, "16 seconds"),
        (25, "30 seconds"),
        (200, "30 seconds"),
    ],
)
async def test_failures_from_many_addresses_make_those_that_failed_wait_up_to_half_a_minute(
    tree: Tree, failures: int, wait: str
) -> None:
    """The right password from A, which has failed once, among failures from many addresses:
    nineteen in all do not stop it; from the twentieth it waits a second after the last one,
    doubling with each further one, never more than thirty seconds. B, which has not failed
    at the account, logs in whatever the count."""
    just_failed = await failures_from_many_addresses(failures, "zhaxi_head", last=ADDRESS_A)

    # The logins come at the moment of the failures, however long the machine takes to serve
    # them: the waits are exact.
    with clock.at(just_failed):
        async with clients_from(ADDRESS_A, ADDRESS_B) as (failed_once, fresh):
            from_a = (await login_once(failed_once, "zhaxi_head", "demo-pass")).json()
            from_b = (await login_once(fresh, "zhaxi_head", "demo-pass")).json()

    assert from_b["data"]["login"]["errors"] == [] and from_b["data"]["login"]["token"]
    if not wait:
        assert from_a["data"]["login"]["errors"] == [] and from_a["data"]["login"]["token"]
        return
    assert from_a["data"]["login"] == throttled(wait)
    assert await LoginFailure.filter(username="zhaxi_head").count() == failures
    assert await AuditEvent.filter(action="user.login_throttled").count() == 1


async def test_guesses_from_many_addresses_slow_the_account_down_but_never_lock_it(
    tree: Tree,
) -> None:
    """Twenty-four addresses have guessed wrong, and so has the owner once, at A. From A the
    owner waits half a minute; more guesses meanwhile, from addresses that have failed, are
    refused unchecked and do not make the wait longer. From B, where they have not failed,
    the owner logs in at once; from A, once the wait is over. The guesses still count."""
    just_failed = await failures_from_many_addresses(25, "zhaxi_head", last=ADDRESS_A)
    async with clients_from(ADDRESS_A, ADDRESS_B, "192.0.2.1", "192.0.2.2") as clients:
        owner_at_a, owner_at_b, *guessers = clients
        # At the moment of the failures, however long the machine takes: the waits are exact.
        with clock.at(just_failed):
            during = await login_once(owner_at_a, "zhaxi_head", "demo-pass")
            more = [await login_once(guesser, "zhaxi_head", "guess") for guesser in guessers]
            still = await login_once(owner_at_a, "zhaxi_head", "demo-pass")
            from_b = await login_once(owner_at_b, "zhaxi_head", "demo-pass")
        with clock.at(just_failed + timedelta(seconds=30)):
            after = await login_once(owner_at_a, "zhaxi_head", "demo-pass")

    assert during.json()["data"]["login"] == throttled("30 seconds")
    assert [r.json()["data"]["login"] for r in more] == [throttled("30 seconds")] * 2
    assert still.json()["data"]["login"] == throttled("30 seconds")
    assert from_b.json()["data"]["login"]["errors"] == []
    assert from_b.json()["data"]["login"]["token"]
    assert after.json()["data"]["login"]["errors"] == []
    assert after.json()["data"]["login"]["token"]
    assert await LoginFailure.filter(username="zhaxi_head").count() == 24  # A's slip forgiven
    assert await AuditEvent.filter(action="user.login_throttled").count() == 4


async def test_concurrent_guesses_in_a_back_off_are_checked_one_at_a_time(tree: Tree) -> None:
    """Twenty failures ten seconds ago, from twenty addresses: the one-second back-off is
    over. Eight of those addresses guess at once, and so does a fresh one, eight times: each
    attempt is recorded before it is counted, so at most one of each group is checked."""
    then = datetime.now(UTC) - timedelta(seconds=10)
    addresses = [f"192.0.2.{i}" for i in range(20)]
    await LoginFailure.bulk_create(
        [LoginFailure(username="zhaxi_head", address=a, at=then) for a in addresses]
    )

    async with clients_from(*addresses[:8], ADDRESS_B) as clients:
        *failed_before, fresh = clients
        responses = await asyncio.gather(
            *(login_once(c, "zhaxi_head", "wrong") for c in failed_before),
            *(login_once(fresh, "zhaxi_head", f"wrong-{i}") for i in range(8)),
        )
        checked = await LoginFailure.filter(username="zhaxi_head").count() - 20
        await LoginFailure.all().update(at=then)  # the back-off, if any, is over again
        next_one = await login_once(failed_before[0], "zhaxi_head", "wrong")
    codes = [r.json()["data"]["login"]["errors"][0]["code"] for r in responses]

    assert set(codes) <= {"INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS"}
    assert codes[:8].count("INVALID_CREDENTIALS") <= 1
    assert codes[8:].count("INVALID_CREDENTIALS") <= 1
    assert checked == codes.count("INVALID_CREDENTIALS")  # the refused were not counted
    assert next_one.json()["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


PROXY = "10.0.0.5"


async def test_behind_a_trusted_proxy_each_client_is_throttled_by_its_forwarded_address(
    tree: Tree,
) -> None:
    """The proxy appends the address it was connected from to ``X-Forwarded-For``; whatever
    the client wrote there itself, to the left, is not believed."""
    settings = app_settings(trusted_proxies=(ipaddress.ip_network(PROXY),))
    from_a = {"x-forwarded-for": f"{ADDRESS_B}, {ADDRESS_A}"}  # A claims to be B
    from_b = {"x-forwarded-for": ADDRESS_B}
    async with clients_from(PROXY, settings=settings) as (proxy,):
        guesses = [await login_once(proxy, "zhaxi_head", f"wrong-{i}", **from_a) for i in range(5)]
        right_from_a = await login_once(proxy, "zhaxi_head", "demo-pass", **from_a)
        right_from_b = await login_once(proxy, "zhaxi_head", "demo-pass", **from_b)
    events = await AuditEvent.filter(entity_type="user").order_by("seq")

    assert [g.json()["data"]["login"]["errors"][0]["code"] for g in guesses] == [
        "INVALID_CREDENTIALS"
    ] * 5
    assert right_from_a.json()["data"]["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    assert right_from_b.json()["data"]["login"]["token"]
    assert await LoginFailure.all().values_list("address", flat=True) == [ADDRESS_A] * 5
    assert [e.after["address"] for e in events if e.after] == [ADDRESS_A] * 6


async def test_a_forwarded_address_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(
    tree: Tree,
) -> None:
    settings = app_settings(trusted_proxies=(ipaddress.ip_network(PROXY),))
    claims = {"x-forwarded-for": ADDRESS_B, "x-real-ip": ADDRESS_B, "forwarded": f"for={ADDRESS_B}"}
    async with clients_from(ADDRESS_A, settings=settings) as (direct,):
        response = await login_once(direct, "zhaxi_head", "wrong", **claims)
    event = await AuditEvent.get(action="user.login_failed")

    assert response.json()["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert await LoginFailure.all().values_list("address", flat=True) == [ADDRESS_A]
    assert event.after == {"username": "zhaxi_head", "address": ADDRESS_A}


def guesses_claiming_other_addresses(server: Server, count: int) -> list[str]:
    """Blocking calls, run in a thread: the server is another process."""
    codes = []
    for i in range(count):
        response = httpx.post(
            f"{server.base}/graphql",
            json={"query": LOGIN, "variables": {"u": "zhaxi_head", "p": f"wrong-{i}"}},
            headers={"x-forwarded-for": f"192.0.2.{i}"},
            timeout=30,
        )
        codes.append(response.json()["data"]["login"]["errors"][0]["code"])
    return codes


async def test_a_real_server_believes_no_forwarded_address_unless_told(
    empty_database_url: str, tmp_path: Path
) -> None:
    """uvicorn, the HTTP server, would believe ``X-Forwarded-For`` from 127.0.0.1 unasked;
    with no trusted proxy configured, the service takes the socket peer whatever the header."""
    with running_server(empty_database_url, tmp_path) as server:
        codes = await asyncio.to_thread(guesses_claiming_other_addresses, server, 6)

    assert codes == ["INVALID_CREDENTIALS"] * 5 + ["TOO_MANY_ATTEMPTS"]


async def test_an_ipv6_client_is_counted_by_its_64_network(tree: Tree) -> None:
    """One subscriber gets a /64 and can take any address in it: a fresh one per guess must
    not give fresh guesses. The trail keeps the full address."""
    async with clients_from("2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:3::b") as (
        guesser,
        same_network,
        next_network,
    ):
        for i in range(5):
            await login_once(guesser, "zhaxi_head", f"wrong-{i}")
        from_same = await login_once(same_network, "zhaxi_head", "demo-pass")
        from_next = await login_once(next_network, "zhaxi_head", "demo-pass")
    failed = await AuditEvent.filter(action="user.login_failed").order_by("seq")

    assert from_same.json()["data"]["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    assert from_next.json()["data"]["login"]["token"]
    assert await LoginFailure.all().values_list("address", flat=True) == ["2001:db8:1:2::/64"] * 5
    assert [e.after["address"] for e in failed if e.after] == ["2001:db8:1:2::a"] * 5


async def test_a_spoofed_forwarded_address_does_not_escape_the_address_throttle(
    client: GraphQLClient,
) -> None:
    await failures_already(MAX_FAILURES_PER_ADDRESS - 1, address=CLIENT_ADDRESS)

    spoofed = {"x-forwarded-for": "203.0.113.77", "x-real-ip": "198.51.100.7"}
    last_guess = await login_once(client, "guess", "wrong", **spoofed)
    right = await login_once(client, "village_sec", "demo-pass", **spoofed)

    assert last_guess.json()["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    assert await LoginFailure.filter(username="guess", address=CLIENT_ADDRESS).count() == 1
    assert right.json()["data"]["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"


async def test_every_failed_and_every_throttled_attempt_is_audited(client: GraphQLClient) -> None:
    """The last allowed guess, then two throttled tries, the second with the right password:
    three lines in the audit trail, none with a password in it."""
    await failures_already(
        MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS - 1, username="dept_head", address=CLIENT_ADDRESS
    )

    codes = []
    for password in ("guess-last", "guess-throttled", "demo-pass"):
        response = await login_once(client, "dept_head", password)
        codes.append(response.json()["data"]["login"]["errors"][0]["code"])
    events = await AuditEvent.filter(entity_type="user").order_by("seq")

    assert codes == ["INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS", "TOO_MANY_ATTEMPTS"]
    assert [e.action for e in events] == [
        "user.login_failed",
        "user.login_throttled",
        "user.login_throttled",
    ]
    assert all(e.after == {"username": "dept_head", "address": CLIENT_ADDRESS} for e in events)
    assert all(e.entity_id == str(events[0].entity_id) != "" for e in events)
    trail = json.dumps([[e.before, e.after] for e in events])
    assert "guess-" not in trail and "demo-pass" not in trail  # no password, ever


async def test_a_throttled_account_cannot_be_reached_under_another_spelling(
    client: GraphQLClient,
) -> None:
    await failures_already(
        MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS, username="zhaxi_head", address=CLIENT_ADDRESS
    )

    for spelling in ("zhaxi_head ", "Zhaxi_Head", "zhaxi_head\u200b"):
        response = await login_once(client, spelling, "demo-pass")
        assert response.json()["data"]["login"]["token"] is None, spelling


async def test_concurrent_guesses_cannot_slip_past_the_throttle_together(
    client: GraphQLClient,
) -> None:
    """Twelve wrong passwords at once: each is recorded before it is counted, so no more
    than the limit are checked, however the requests interleave."""
    responses = await asyncio.gather(
        *(login_once(client, "zhaxi_head", f"wrong-{i}") for i in range(12))
    )
    codes = [r.json()["data"]["login"]["errors"][0]["code"] for r in responses]

    assert set(codes) <= {"INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS"}
    assert codes.count("TOO_MANY_ATTEMPTS") >= 12 - MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS
    assert (
        await LoginFailure.filter(username="zhaxi_head").count()
        <= MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS
    )


async def test_a_password_typed_as_the_username_never_reaches_the_audit_trail(
    client: GraphQLClient,
) -> None:
    """The trail is kept for ever: an unknown name goes in as a keyed digest, the same for
    each repeat, so guesses at one name still tie together."""
    for _ in range(2):
        await login_once(client, "Sup3r-secret!pw", "demo-pass")
    await login_once(client, "another-slip", "demo-pass")
    events = await AuditEvent.filter(action="user.login_failed").order_by("seq")
    trail = json.dumps([[e.before, e.after] for e in events])

    assert "Sup3r-secret" not in trail and "another-slip" not in trail
    digests = [e.after["unknown_username"] for e in events if e.after]
    assert len(digests) == 3 and digests[0] == digests[1] != digests[2]
    assert all(e.after and e.after["address"] == CLIENT_ADDRESS for e in events)


async def test_password_checks_run_off_the_event_loop(
    client: GraphQLClient, monkeypatch: Any
) -> None:
    """argon2 takes a good part of a second by design; on the loop, every other request in
    the process would wait for it."""
    import resolvers.accounts

    threads: list[int] = []
    real = resolvers.accounts.verify_password

    def recording(password_hash: str | None, password: str) -> bool:
        threads.append(threading.get_ident())
        return real(password_hash, password)

    monkeypatch.setattr(resolvers.accounts, "verify_password", recording)
    token = await client.login("zhaxi_head")

    assert token and threads and threading.get_ident() not in threads


# ----- secrets are compared in constant time -----

SECRET_WORDS = ("secret", "password", "passwd", "token", "signature", "credential", "api_key")
SERVICE_PACKAGES = ("app", "resolvers", "schema", "policies", "models")
# Compared with == on purpose: public values, not secrets.
PUBLIC = {"token_version"}  # a counter stored beside the account


def _names(node: ast.expr) -> set[str]:
    return {
        n.id if isinstance(n, ast.Name) else n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Name | ast.Attribute)
    }


def test_no_secret_is_compared_with_equality() -> None:
    """``hmac.compare_digest`` (or argon2/PyJWT, which use it) for anything secret."""
    found = []
    for package in SERVICE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Compare):
                    continue
                if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                    continue
                names = set().union(*(_names(n) for n in [node.left, *node.comparators]))
                risky = {n for n in names - PUBLIC if any(w in n.lower() for w in SECRET_WORDS)}
                if risky:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {sorted(risky)}")

    assert found == [], "compare secrets with hmac.compare_digest:\n" + "\n".join(found)
