"""Login, ``me`` and every way a bearer token can be wrong, over HTTP."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt

from core.security import TOKEN_ISSUER, issue_token
from models.people import User
from tests.fixtures import TEST_SECRET, Tree
from tests.http.client import GraphQLClient

ME = "{ me { username roles { role orgUnit { name } } } }"
TASKS = "{ tasks { totalCount } }"


def claims(user: User, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": str(user.id),
        "ver": user.token_version,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": TOKEN_ISSUER,
    }
    base.update(overrides)
    return base


def assert_unauthenticated(response: Any) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_login_returns_a_token_that_me_accepts(client: GraphQLClient) -> None:
    token = await client.login("zhaxi_head")

    body = await client.run(ME, token=token)

    assert body == {
        "data": {
            "me": {
                "username": "zhaxi_head",
                "roles": [{"role": "township_head", "orgUnit": {"name": "zhaxi"}}],
            }
        }
    }


async def test_me_is_null_for_an_anonymous_request(client: GraphQLClient) -> None:
    assert await client.run(ME) == {"data": {"me": None}}


async def test_anonymous_reads_are_refused_as_unauthenticated(client: GraphQLClient) -> None:
    body = await client.run(TASKS)

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_wrong_password_and_unknown_user_fail_alike(client: GraphQLClient) -> None:
    query = (
        "mutation($u: String!, $p: String!) { login(username: $u, password: $p)"
        " { token errors { field code message } } }"
    )
    wrong = await client.run(query, {"u": "zhaxi_head", "p": "not-the-password"})
    unknown = await client.run(query, {"u": "nobody-at-all", "p": "demo-pass"})

    assert wrong == unknown
    assert wrong["data"]["login"]["token"] is None
    assert wrong["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_a_deactivated_account_cannot_log_in(client: GraphQLClient, tree: Tree) -> None:
    await User.filter(id=tree.users["zhaxi_head"].id).update(is_active=False)

    body = await client.run(
        'mutation { login(username: "zhaxi_head", password: "demo-pass")'
        " { token errors { code } } }"
    )

    assert body["data"]["login"] == {"token": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}


async def test_garbage_token_is_unauthenticated(client: GraphQLClient) -> None:
    assert_unauthenticated(await client.post(ME, token="not.a.token"))


async def test_non_bearer_authorization_is_unauthenticated(client: GraphQLClient) -> None:
    response = await client.http.post(
        "/graphql", json={"query": ME}, headers={"Authorization": "Basic dXNlcjpwYXNz"}
    )
    assert_unauthenticated(response)


async def test_expired_token_is_unauthenticated(client: GraphQLClient, tree: Tree) -> None:
    user = tree.users["zhaxi_head"]
    past = int(time.time()) - 3600
    token = jwt.encode(claims(user, iat=past - 60, nbf=past - 60, exp=past), TEST_SECRET, "HS256")

    assert_unauthenticated(await client.post(ME, token=token))


async def test_not_yet_valid_token_is_unauthenticated(client: GraphQLClient, tree: Tree) -> None:
    future = int(time.time()) + 3600
    token = jwt.encode(claims(tree.users["zhaxi_head"], nbf=future), TEST_SECRET, "HS256")

    assert_unauthenticated(await client.post(ME, token=token))


async def test_unsigned_alg_none_token_is_unauthenticated(
    client: GraphQLClient, tree: Tree
) -> None:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims(tree.users['county_admin']))}."

    assert_unauthenticated(await client.post(ME, token=token))


async def test_tampered_token_is_unauthenticated(client: GraphQLClient, tree: Tree) -> None:
    token = await client.login("village_sec")
    header, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["sub"] = str(tree.users["county_admin"].id)
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()

    assert_unauthenticated(await client.post(ME, token=f"{header}.{forged_payload}.{signature}"))


async def test_token_signed_with_another_secret_is_unauthenticated(
    client: GraphQLClient, tree: Tree
) -> None:
    user = tree.users["zhaxi_head"]
    token = issue_token(user.id, user.token_version, "another-secret-of-sufficient-length!!", 600)

    assert_unauthenticated(await client.post(ME, token=token))


async def test_token_of_a_deactivated_account_stops_working(
    client: GraphQLClient, tree: Tree
) -> None:
    token = await client.login("zhaxi_head")
    assert (await client.run(ME, token=token))["data"]["me"]["username"] == "zhaxi_head"

    await User.filter(id=tree.users["zhaxi_head"].id).update(is_active=False)

    assert_unauthenticated(await client.post(ME, token=token))


async def test_revoking_tokens_invalidates_those_already_issued(
    client: GraphQLClient, tree: Tree
) -> None:
    token = await client.login("zhaxi_head")
    user = tree.users["zhaxi_head"]

    await User.filter(id=user.id).update(token_version=user.token_version + 1)

    assert_unauthenticated(await client.post(ME, token=token))
    assert (await client.run(ME, token=await client.login("zhaxi_head")))["data"]["me"]


async def test_failed_login_leaves_an_audit_event(client: GraphQLClient) -> None:
    from models.audit import AuditEvent

    await client.run('mutation { login(username: "luobu_head", password: "guess") { token } }')

    event = await AuditEvent.get(action="user.login_failed")
    assert event.after is not None
    assert event.after["username"] == "luobu_head"
    assert event.after["address"]  # the client's address, for throttling by address
    assert "guess" not in json.dumps([event.before, event.after])


async def test_health_and_readiness(client: GraphQLClient) -> None:
    assert (await client.http.get("/healthz")).json() == {"status": "ok"}
    ready = await client.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "up"}


async def test_graphql_response_media_type_is_accepted(client: GraphQLClient) -> None:
    response = await client.http.post(
        "/graphql",
        json={"query": ME},
        headers={"Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}


async def test_failed_logins_are_visible_to_those_overseeing_the_account(
    client: GraphQLClient,
) -> None:
    await client.run('mutation { login(username: "village_sec", password: "guess") { token } }')
    query = '{ auditEvents(filter: { action: "user.login_failed" }) { totalCount } }'

    inspector = await client.run(query, token=await client.login("inspector"))
    elsewhere = await client.run(query, token=await client.login("yzh_admin"))

    assert inspector["data"]["auditEvents"]["totalCount"] == 1
    assert elsewhere["data"]["auditEvents"]["totalCount"] == 0


LOGIN = (
    "mutation($u: String!, $p: String!) { login(username: $u, password: $p)"
    " { token errors { code message } } }"
)


async def test_repeated_failures_throttle_the_account_at_that_address_even_with_the_right_password(
    client: GraphQLClient,
) -> None:
    from resolvers.accounts import MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS

    for _ in range(MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS):
        body = await client.run(LOGIN, {"u": "zhaxi_head", "p": "wrong"})
        assert body["data"]["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"

    right = await client.run(LOGIN, {"u": "zhaxi_head", "p": "demo-pass"})
    other = await client.run(LOGIN, {"u": "luobu_head", "p": "demo-pass"})

    assert right["data"]["login"]["token"] is None
    assert right["data"]["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    assert other["data"]["login"]["token"]  # another account is not affected


async def test_unknown_names_are_throttled_like_real_ones(client: GraphQLClient) -> None:
    from resolvers.accounts import MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS

    answers = []
    for name in ("zhaxi_head", "no-such-user"):
        for _ in range(MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS + 1):
            body = await client.run(LOGIN, {"u": name, "p": "wrong"})
        answers.append(body["data"]["login"])

    assert answers[0] == answers[1]
    assert answers[0]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"


async def test_many_failures_from_one_address_throttle_every_account(
    client: GraphQLClient,
) -> None:
    from resolvers.accounts import MAX_FAILURES_PER_ADDRESS

    for i in range(MAX_FAILURES_PER_ADDRESS):
        await client.run(LOGIN, {"u": f"guess-{i}", "p": "wrong"})

    body = await client.run(LOGIN, {"u": "village_sec", "p": "demo-pass"})

    assert body["data"]["login"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"


async def test_throttling_is_audited_and_old_failures_expire(client: GraphQLClient) -> None:
    from datetime import UTC, datetime, timedelta

    from models.audit import AuditEvent
    from models.people import LoginFailure
    from resolvers.accounts import MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS, WINDOW

    for _ in range(MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS + 1):
        await client.run(LOGIN, {"u": "zhaxi_head", "p": "wrong"})
    assert await AuditEvent.filter(action="user.login_throttled").count() == 1

    await LoginFailure.all().update(at=datetime.now(UTC) - WINDOW - timedelta(minutes=1))
    body = await client.run(LOGIN, {"u": "zhaxi_head", "p": "demo-pass"})

    assert body["data"]["login"]["token"]
    assert await LoginFailure.filter(username="zhaxi_head").count() == 0
