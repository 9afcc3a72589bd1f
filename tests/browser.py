"""Headless Chromium for tests, driven over the DevTools protocol, offline.

Debian's ``chromium`` is started with a fresh profile, with every host name but 127.0.0.1
unresolvable and every other address sent to a proxy that is not there, so a page that
reaches for anything beyond this machine fails to. The tab records each request and
websocket it opens, each uncaught exception, console error and content-security-policy
violation, for the test to assert on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_NAMES = ("chromium", "chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--remote-debugging-port=0",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",  # loopback bypasses it; nothing else gets through
)
# Runs before the page's own scripts: policy violations land where the test can read them.
WATCH_POLICY = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def chromium() -> str | None:
    """The browser's path, or None when it is not installed."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


class BrowserError(AssertionError):
    """The browser refused a command or a page's script threw."""


@dataclass
class DevTools:
    """The browser's DevTools socket: one command at a time, events noted on the way."""

    socket: ClientConnection
    sent: int = 0
    tabs: dict[str, Tab] = field(default_factory=dict)

    def command(self, method: str, params: dict[str, Any], session: str = "") -> dict[str, Any]:
        """Send one command and read messages until its answer."""
        self.sent += 1
        message: dict[str, Any] = {"id": self.sent, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            received = json.loads(self.socket.recv(timeout=60))
            if received.get("id") == self.sent:
                if "error" in received:
                    raise BrowserError(f"{method}: {received['error']}")
                result: dict[str, Any] = received.get("result", {})
                return result
            tab = self.tabs.get(received.get("sessionId", ""))
            if tab is not None:
                tab.note(received)

    def open_tab(self) -> Tab:
        """A new tab, attached in flat mode: its commands carry its session id."""
        target = self.command("Target.createTarget", {"url": "about:blank"})
        attached = self.command(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        tab = self.tabs[attached["sessionId"]] = Tab(self, attached["sessionId"])
        for domain in ("Page", "Network", "Runtime", "Log"):
            tab.send(f"{domain}.enable")
        tab.send("Page.addScriptToEvaluateOnNewDocument", source=WATCH_POLICY)
        return tab


@dataclass
class Tab:
    """One page, with what it has requested and what went wrong in it."""

    devtools: DevTools
    session: str
    requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.devtools.command(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the page (awaited if it is a promise)."""
        answer = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise BrowserError(json.dumps(answer["exceptionDetails"])[:2000])
        return answer["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 30) -> Any:
        """Poll ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + seconds
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"not within {seconds} s: {expression}\nerrors: {self.errors}")
            time.sleep(0.2)

    def type_text(self, text: str) -> None:
        """Text typed into the focused element, as a keyboard would."""
        self.send("Input.insertText", text=text)

    def note(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Network.webSocketCreated":
            self.websockets.append(params["url"])
        elif method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params["exceptionDetails"])[:2000])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(
                " ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"])
            )
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(f"{params['entry'].get('source')}: {params['entry'].get('text')}")


def _debugging_address(profile: Path, process: subprocess.Popen[bytes], seconds: float) -> str:
    """Chromium writes its port and browser path to the profile once it listens."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrowserError(f"chromium exited with {process.returncode}")
        lines = port_file.read_text().split() if port_file.exists() else []
        if len(lines) == 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.1)
    raise BrowserError(f"chromium did not listen within {seconds} s")


@contextmanager
def offline_tab(executable: str, workdir: Path) -> Iterator[Tab]:
    """A new tab of a headless Chromium of its own, stopped afterwards."""
    profile = workdir / "chromium-profile"
    profile.mkdir()
    log_path = workdir / "chromium.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=log,
            stderr=log,
        )
    try:
        address = _debugging_address(profile, process, 30)
        with connect(address, max_size=None, open_timeout=30) as socket:
            yield DevTools(socket).open_tab()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
