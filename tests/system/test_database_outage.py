"""PostgreSQL going away mid-service: clear errors, readiness fails, recovery by itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ON_POSTGRES
from tests.servers import Server, free_port, running_server, wait_until
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="an outage of a database server: SQLite is embedded in the process"
)

TASKS = "{ tasks(first: 5) { totalCount } }"


@pytest.fixture
def proxied(empty_database_url: str, tmp_path: Path) -> Iterator[tuple[Server, TcpProxy]]:
    prefix, _, rest = empty_database_url.partition("@")
    host_port, _, database = rest.partition("/")
    host, _, port = host_port.partition(":")
    proxy = TcpProxy(free_port(), host, int(port or 5432))
    proxy.restore()
    try:
        url = f"{prefix}@127.0.0.1:{proxy.port}/{database}"
        with running_server(url, tmp_path, demo=True, tolerate=("asyncpg.pool",)) as server:
            yield server, proxy
    finally:
        proxy.close()


def test_an_outage_gives_clear_errors_and_the_service_recovers(
    proxied: tuple[Server, TcpProxy],
) -> None:
    server, proxy = proxied
    token = server.login("county_admin")
    before = server.graphql(TASKS, token=token)["data"]["tasks"]["totalCount"]

    proxy.cut()
    during = httpx.post(
        f"{server.base}/graphql",
        json={"query": TASKS},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    anonymous = httpx.post(
        f"{server.base}/graphql",
        json={"query": 'mutation { login(username: "x", password: "y") { token } }'},
        timeout=30,
    )
    ready = httpx.get(f"{server.base}/readyz", timeout=30)

    assert during.status_code in (200, 503)
    assert [e["extensions"]["code"] for e in during.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert anonymous.status_code < 500
    assert [e["extensions"]["code"] for e in anonymous.json()["errors"]] == ["SERVICE_UNAVAILABLE"]
    assert ready.status_code == 503

    proxy.restore()
    recovered_in = wait_until(
        lambda: httpx.get(f"{server.base}/readyz", timeout=5).status_code == 200, 15
    )
    after = server.graphql(TASKS, token=token)

    assert after["data"]["tasks"]["totalCount"] == before
    assert recovered_in < 15
