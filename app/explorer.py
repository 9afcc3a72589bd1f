"""The GraphiQL explorer on ``GET /graphql``, served by the service itself, offline.

GraphiQL's browser bundle and React come from the registry packages that
``npm ci --prefix explorer`` installs into the checkout's ``explorer/node_modules`` (pinned
by ``explorer/package-lock.json``): nothing of theirs is copied into the repository and
nothing is loaded from a CDN, so the page works on a network cut off from the internet.
The page itself is ours: a token field whose token goes out as ``Authorization: Bearer …``
over HTTP and in the websocket's ``connection_params`` (``app.websocket`` reads it there),
and the example operations of ``docs/queries`` as its starting tabs.

Only the files named here are served, and the page runs under a content security policy
that admits this origin's scripts, styles and connections and nothing else (no inline
script: the page's settings travel as a JSON data block). Without the files, the page says
which command installs them; ``POST /graphql`` is unaffected either way.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

INSTALL_COMMAND = "npm ci --prefix explorer"
ASSET_ROUTE = "/graphql/explorer/{name}"
# Relative to the page (``…/graphql``), so a reverse proxy's path prefix is kept.
ASSET_BASE = "graphql/explorer/"
STATIC = Path(__file__).with_name("static")

# The browser builds the page needs, by the name they are served under: each a file of a
# package pinned in explorer/package-lock.json.
VENDOR_FILES = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
}
OWN_FILES = {"explorer.js": STATIC / "explorer.js", "explorer.css": STATIC / "explorer.css"}
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

# GraphiQL's stylesheet embeds its fonts and icons as data: URLs. 'self' in connect-src
# covers the websocket to this origin too (CSP level 3).
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
NOTICE_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

SIGN_IN_TAB = """\
# Sign in: fill in the variables below and run Login. Its token fills the Token field
# above, which sends it with every operation (and with subscriptions, over the websocket).
# Then run Me.
mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) { token errors { code message } }
}

query Me {
  me { username roles { role orgUnit { name level } } }
}
"""
SIGN_IN_VARIABLES = '{\n  "username": "",\n  "password": ""\n}'


def example_tabs(folder: Path) -> list[dict[str, str]]:
    """The sign-in tab, then one tab per example operation, in file name order."""
    tabs = [{"query": SIGN_IN_TAB, "variables": SIGN_IN_VARIABLES}]
    if folder.is_dir():
        tabs += [
            {"query": path.read_text(encoding="utf-8")} for path in sorted(folder.glob("*.graphql"))
        ]
    return tabs


def json_for_html(value: object) -> str:
    """JSON that cannot end the ``<script type="application/json">`` block holding it."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


@dataclass(frozen=True)
class Explorer:
    """The page and the files it loads; the examples are read once, when the app is built."""

    node_modules: Path
    tabs: tuple[dict[str, str], ...]

    @classmethod
    def in_checkout(cls, explorer_dir: Path) -> Explorer:
        """``explorer_dir`` is the checkout's ``explorer/``; the examples are beside it."""
        examples = explorer_dir.parent / "docs" / "queries"
        return cls(explorer_dir / "node_modules", tuple(example_tabs(examples)))

    def missing(self) -> list[str]:
        """The packaged files that are not installed."""
        return [path for path in VENDOR_FILES.values() if not (self.node_modules / path).is_file()]

    def page(self) -> HTMLResponse:
        missing = self.missing()
        if missing:
            return HTMLResponse(
                self._notice(missing),
                status_code=503,
                headers={"content-security-policy": NOTICE_POLICY},
            )
        return HTMLResponse(self._page(), headers={"content-security-policy": PAGE_POLICY})

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = OWN_FILES.get(name) or (
            self.node_modules / VENDOR_FILES[name] if name in VENDOR_FILES else None
        )
        if path is None or not path.is_file():
            return Response("Not found", status_code=404, media_type="text/plain")
        return FileResponse(
            path, media_type=MEDIA_TYPES[path.suffix], headers={"cache-control": "no-cache"}
        )

    def _page(self) -> str:
        config = json_for_html({"tabs": list(self.tabs)})
        scripts = "\n".join(
            f'<script src="{ASSET_BASE}{name}"></script>' for name in (*SCRIPTS, "explorer.js")
        )
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>riverchief · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSET_BASE}graphiql.min.css">
<link rel="stylesheet" href="{ASSET_BASE}explorer.css">
</head>
<body>
<form class="explorer-token" id="explorer-token-form">
<label for="explorer-token">Token</label>
<input id="explorer-token" name="token" type="password" autocomplete="off" spellcheck="false"
 placeholder="run Login in the first tab, or paste a token from the login mutation">
<button type="button" id="explorer-token-clear">Clear</button>
<span class="explorer-token-note">sent as <code>Authorization: Bearer …</code>, and in the
 websocket's <code>connection_params</code> for subscriptions</span>
</form>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="explorer-config">{config}</script>
{scripts}
</body>
</html>
"""

    @staticmethod
    def _notice(missing: list[str]) -> str:
        files = "".join(f"<li><code>{html.escape(path)}</code></li>" for path in missing)
        return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>riverchief · GraphiQL is not installed</title></head>
<body>
<h1>GraphiQL is not installed</h1>
<p>The explorer's files come from the npm registry and are not in the repository. In the
checkout, run</p>
<pre>{INSTALL_COMMAND}</pre>
<p>and reload this page (no restart needed). <code>POST /graphql</code> works without them.
Missing from <code>explorer/node_modules</code>:</p>
<ul>{files}</ul>
</body>
</html>
"""
