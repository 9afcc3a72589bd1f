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
import json
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.security import TOKEN_ISSUER
from models.audit import AuditEvent
from models.people import LoginFailure, User
from resolvers.accounts import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS
from tests.fixtures import TEST_SECRET, Tree
from tests.hostile import assert_no_leak
from tests.http.client import GraphQLClient

ME = "{ me { username } }"
LOGIN = (
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p)"
    " { token errors { field code message } } }"
)
ROOT = Path(__file__).resolve().parents[2]
CLIENT_ADDRESS = "127.0.0.1"  # the in-process client's address, as the service sees it


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
    await failures_already(MAX_FAILURES_PER_ACCOUNT - 1, username="dept_head")

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
    await failures_already(MAX_FAILURES_PER_ACCOUNT, username="zhaxi_head")

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
    assert codes.count("TOO_MANY_ATTEMPTS") >= 12 - MAX_FAILURES_PER_ACCOUNT
    assert await LoginFailure.filter(username="zhaxi_head").count() <= MAX_FAILURES_PER_ACCOUNT


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
