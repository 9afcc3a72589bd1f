"""The explorer page and its files, in-process: served from the checkout's npm install, only
the files it names, under its own content security policy; without them, a page that says
how to install them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.explorer import INSTALL_COMMAND, PAGE_POLICY, VENDOR_FILES, json_for_html
from tests.fixtures import Tree
from tests.http.client import app_settings, running_app

HTML = {"Accept": "text/html"}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout whose explorer/node_modules holds stand-ins for the packaged files, and
    whose docs/queries holds two examples."""
    explorer = tmp_path / "explorer"
    for name, path in VENDOR_FILES.items():
        (explorer / "node_modules" / path).parent.mkdir(parents=True, exist_ok=True)
        (explorer / "node_modules" / path).write_text(f"/* {name} */")
    (explorer / "node_modules" / "graphiql" / "package.json").write_text("{}")
    queries = tmp_path / "docs" / "queries"
    queries.mkdir(parents=True)
    (queries / "b_second.graphql").write_text("query Second { me { username } }\n")
    (queries / "a_first.graphql").write_text(
        "# </script><script>alert(1)</script>\n{ me { id } }\n"
    )
    return explorer


def _config(page: str) -> Any:
    found = re.search(
        r'<script type="application/json" id="explorer-config">(.*?)</script>', page, re.S
    )
    assert found, page
    return json.loads(found.group(1))


async def test_the_page_loads_only_files_of_this_origin_under_its_own_policy(
    tree: Tree, checkout: Path
) -> None:
    async with running_app(app_settings(explorer_dir=checkout)) as client:
        page = await client.http.get("/graphql", headers=HTML)

    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources == [
        "data:,",  # no favicon to fetch
        "graphql/explorer/graphiql.min.css",
        "graphql/explorer/explorer.css",
        "graphql/explorer/react.production.min.js",
        "graphql/explorer/react-dom.production.min.js",
        "graphql/explorer/graphiql.min.js",
        "graphql/explorer/explorer.js",
    ]
    assert "<script>" not in page.text  # no inline script: the policy would refuse it


async def test_the_examples_are_the_starting_tabs_after_the_sign_in_tab(
    tree: Tree, checkout: Path
) -> None:
    async with running_app(app_settings(explorer_dir=checkout)) as client:
        page = await client.http.get("/graphql", headers=HTML)

    tabs = _config(page.text)["tabs"]
    assert [tab["query"] for tab in tabs[1:]] == [
        "# </script><script>alert(1)</script>\n{ me { id } }\n",
        "query Second { me { username } }\n",
    ]
    assert "mutation Login(" in tabs[0]["query"]
    assert json.loads(tabs[0]["variables"]) == {"username": "", "password": ""}
    assert page.text.count("</script>") == 5  # the examples' text cannot close the data block


async def test_the_packaged_files_and_ours_are_served_and_nothing_else(
    tree: Tree, checkout: Path
) -> None:
    async with running_app(app_settings(explorer_dir=checkout)) as client:
        script = await client.http.get("/graphql/explorer/graphiql.min.js")
        style = await client.http.get("/graphql/explorer/graphiql.min.css")
        ours = await client.http.get("/graphql/explorer/explorer.js")
        refused = [
            (await client.http.get(f"/graphql/explorer/{name}")).status_code
            for name in ("package.json", "..%2Fpackage.json", "graphiql", "explorer.py")
        ]

    assert (script.status_code, script.text) == (200, "/* graphiql.min.js */")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["x-content-type-options"] == "nosniff"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    assert ours.status_code == 200 and "createFetcher" in ours.text
    assert refused == [404, 404, 404, 404]


async def test_without_the_files_the_page_says_how_to_install_them_and_post_still_works(
    tree: Tree, tmp_path: Path
) -> None:
    async with running_app(app_settings(explorer_dir=tmp_path / "explorer")) as client:
        page = await client.http.get("/graphql", headers=HTML)
        script = await client.http.get("/graphql/explorer/graphiql.min.js")
        answer = await client.run("{ me { username } }")

    assert page.status_code == 503
    assert "GraphiQL is not installed" in page.text and INSTALL_COMMAND in page.text
    assert "<code>graphiql/graphiql.min.js</code>" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert script.status_code == 404
    assert answer == {"data": {"me": None}}


async def test_graphiql_off_serves_neither_page_nor_files(tree: Tree, checkout: Path) -> None:
    async with running_app(app_settings(graphiql=False, explorer_dir=checkout)) as client:
        page = await client.http.get("/graphql", headers=HTML)
        script = await client.http.get("/graphql/explorer/graphiql.min.js")

    assert page.status_code == 404
    assert script.status_code == 404


def test_json_for_html_cannot_end_its_script_block() -> None:
    encoded = json_for_html({"query": "</script><!-- 扎西镇"})

    assert "<" not in encoded
    assert json.loads(encoded) == {"query": "</script><!-- 扎西镇"}
