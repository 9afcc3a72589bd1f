"""The explorer in a real browser, offline: ``riverchief serve --demo`` and headless Chromium
that can reach nothing but 127.0.0.1.

Skipped only where Chromium or the explorer's files are not installed, and then with the
command that installs them; ``RIVERCHIEF_REQUIRE_BROWSER=1`` (set by ``.ci/run``) turns that
skip into a failure, so CI always runs it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.explorer import Explorer
from tests.browser import Tab, chromium, offline_tab
from tests.servers import Server, running_server

ROOT = Path(__file__).resolve().parents[2]
EXPLORER_DIR = ROOT / "explorer"
EXAMPLES = ROOT / "docs" / "queries"
QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror')"
RESPONSE = "document.querySelector('.result-window .CodeMirror')"
CREATE_TASK = """
mutation($unit: ID!, $title: String!) {
  createTask(input: { orgUnitId: $unit, title: $title, category: OTHER }) { errors { code } }
}
"""


def _unavailable() -> str | None:
    if chromium() is None:
        return "Chromium is not installed (apt-get install -y chromium)"
    missing = Explorer.in_checkout(EXPLORER_DIR).missing()
    if missing:
        return f"the explorer's files are not installed (npm ci --prefix explorer): {missing}"
    return None


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[Server]:
    reason = _unavailable()
    if reason is not None:
        if os.environ.get("RIVERCHIEF_REQUIRE_BROWSER") == "1":
            pytest.fail(f"RIVERCHIEF_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    database = f"sqlite://{tmp_path / 'demo.sqlite3'}"
    with running_server(
        database, tmp_path, demo=True, RIVERCHIEF_EXPLORER_DIR=str(EXPLORER_DIR)
    ) as server:
        yield server


@pytest.fixture
def tab(demo_server: Server, tmp_path: Path) -> Iterator[Tab]:
    executable = chromium()
    assert executable is not None
    with offline_tab(executable, tmp_path) as opened:
        yield opened


def _run_in_editor(tab: Tab, name: str, document: str) -> None:
    """Put the operation ``name`` in the editor and run it, once GraphiQL has taken it in
    (the tab is named after it)."""
    tab.evaluate(f"{QUERY_EDITOR}.CodeMirror.setValue({json.dumps(document)})")
    tab.wait_for(f"document.querySelector('.graphiql-tab-active').innerText.trim() === '{name}'")
    tab.evaluate("document.querySelector('.graphiql-execute-button').click()")


def _response(tab: Tab) -> str:
    return str(tab.evaluate(f"{RESPONSE} ? {RESPONSE}.CodeMirror.getValue() : ''"))


def _operation_names(folder: Path) -> list[str]:
    names = []
    for path in sorted(folder.glob("*.graphql")):
        found = re.search(r"^(?:query|mutation|subscription)\s+(\w+)", path.read_text(), re.M)
        assert found, path
        names.append(found.group(1))
    return names


def test_the_explorer_runs_me_with_a_token_and_a_subscription_offline(
    demo_server: Server, tab: Tab
) -> None:
    token = demo_server.login("county_admin")  # the login mutation, as the README does it
    county = demo_server.graphql("{ me { roles { orgUnit { id } } } }", token=token)["data"]
    county_id = county["me"]["roles"][0]["orgUnit"]["id"]

    # The browser reaches nothing beyond this machine, by name or by address.
    for far in ("https://unpkg.com/", "http://93.184.215.14/"):
        outcome = tab.evaluate(f"fetch('{far}').then(() => 'reached', () => 'refused')")
        assert outcome == "refused", far
    tab.requests.clear()
    tab.errors.clear()

    tab.send("Page.navigate", url=f"{demo_server.base}/graphql")
    tab.wait_for(f"{QUERY_EDITOR} !== null")
    tab.evaluate("document.getElementById('explorer-token').focus()")
    tab.type_text(token)
    tab.wait_for(f"sessionStorage.getItem('riverchief:token') === {json.dumps(token)}")
    _run_in_editor(tab, "WhoAmI", "query WhoAmI { me { username } }")
    answer = tab.wait_for(f"{RESPONSE} && {RESPONSE}.CodeMirror.getValue().includes('username')")

    assert answer is True
    assert json.loads(_response(tab)) == {"data": {"me": {"username": "county_admin"}}}

    # The schema browser: the documentation explorer lists the root types.
    tab.evaluate("document.querySelector('[aria-label=\"Show Documentation Explorer\"]').click()")
    docs = tab.wait_for("(document.querySelector('.graphiql-doc-explorer') || {}).innerText || ''")
    assert "Query" in docs and "Mutation" in docs and "Subscription" in docs

    # The examples of docs/queries are the starting tabs, after the sign-in tab.
    titles = tab.evaluate(
        "[...document.querySelectorAll('.graphiql-tab')].map(t => t.innerText.trim())"
    )
    assert titles[1:] == _operation_names(EXAMPLES), titles

    # A subscription over the websocket carries the token in connection_params: a task the
    # county creates arrives in the response pane.
    _run_in_editor(tab, "Changes", "subscription Changes { taskChanged { action task { title } } }")
    tab.wait_for(f"{RESPONSE} !== null")
    created = []
    for attempt in range(20):  # until the subscription is registered and an event arrives
        title = f"explorer check {attempt}"
        result = demo_server.graphql(CREATE_TASK, {"unit": county_id, "title": title}, token)
        assert result == {"data": {"createTask": {"errors": []}}}, result
        created.append(title)
        text = _response(tab)
        if any(title in text for title in created):
            break
        tab.evaluate("new Promise(done => setTimeout(done, 1000))")
    event = json.loads(_response(tab))
    assert event["data"]["taskChanged"]["action"] == "task.create"
    assert event["data"]["taskChanged"]["task"]["title"] in created

    # Nothing left this machine, and the page kept to its content security policy.
    assert tab.websockets == [demo_server.ws_url]
    outside = [
        url[:80]
        for url in tab.requests
        if not url.startswith((demo_server.base + "/", "data:"))  # the fonts of GraphiQL's CSS
    ]
    assert outside == []
    assert tab.evaluate("window.__violations") == []
    assert tab.errors == []
