"""Security headers on every response; CORS closed unless origins are configured."""

from __future__ import annotations

import pytest

from core.settings import Settings, SettingsError
from tests.fixtures import Tree
from tests.http.client import GraphQLClient, app_settings, running_app

ORIGIN = "https://dashboard.example.org"


async def test_data_responses_carry_the_security_headers(client: GraphQLClient) -> None:
    response = await client.http.post("/graphql", json={"query": "{ me { username } }"})

    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # not in development


async def test_refusals_carry_them_too(client: GraphQLClient) -> None:
    response = await client.http.post(
        "/graphql", json={"query": "{ me { username } }"}, headers={"Authorization": "Bearer x"}
    )

    assert response.status_code == 401
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_production_adds_hsts(tree: Tree) -> None:
    async with running_app(app_settings(env="production")) as client:
        response = await client.http.get("/healthz")

    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_is_closed_by_default(client: GraphQLClient) -> None:
    preflight = await client.http.options(
        "/graphql",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    simple = await client.http.post(
        "/graphql", json={"query": "{ me { username } }"}, headers={"Origin": ORIGIN}
    )

    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_configured_origins_are_allowed_and_others_are_not(tree: Tree) -> None:
    async with running_app(app_settings(cors_origins=(ORIGIN,))) as client:
        allowed = await client.http.options(
            "/graphql",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        other = await client.http.post(
            "/graphql",
            json={"query": "{ me { username } }"},
            headers={"Origin": "https://evil.example.com"},
        )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("value", ["*", "dashboard.example.org", "https://a.org, *"])
def test_wildcard_or_bare_origins_are_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="RIVERCHIEF_CORS_ORIGINS"):
        Settings.from_env({"RIVERCHIEF_CORS_ORIGINS": value})
