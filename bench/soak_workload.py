"""The soak workload: every demo role reading and writing at once, with a ledger of outcomes.

Each simulated client logs in as one of the demo accounts and then, in a loop, reads (80 %)
or writes (20 %). A write creates a task in the client's own unit, or presses (URGE, the
issuing side) or answers (REPLY, the assignee side) one of a few tasks that every client of
the same scope shares, sending the version it read: concurrent writers collide and must be
told CONFLICT, never overwrite each other silently. Roles without the right are refused,
which is counted too. The ledger keeps what was acknowledged, what was refused and what had
an unknown outcome (the connection broke mid-request); ``bench.soak_check`` compares it with
the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.load import Connection, LoadError
from demo.loader import read_demo
from schema.node import from_global_id

DEMO = read_demo()  # the accounts the soak signs in as, and their published password
ACCOUNTS = tuple(account.username for account in DEMO.accounts)
WRITE_SHARE = 0.2
HOT_TASKS = 4

LOGIN = (
    "mutation SoakLogin($u: String!, $p: String!) { login(username: $u, password: $p)"
    " { token errors { code } } }"
)
ME = "query SoakMe { me { id username roles { role orgUnit { id name } } } }"
SHARED_TASKS = """
query SoakShared($n: Int!) {
  tasks(first: $n, orderBy: OLDEST, filter: { status: [ASSIGNED, IN_PROGRESS] }) {
    edges { node { id version } }
  }
}
"""
READS = {
    "me": (ME, False),
    "inbox": (
        """query SoakInbox { tasks(first: 20) { totalCount edges { node {
             id title status dueAt orgUnit { id name } issuer { id name }
             assignee { id name } parent { id title } } } } }""",
        False,
    ),
    "dashboard": (
        """query SoakDashboard($unit: ID!) { orgUnit(id: $unit) { id name
             taskStats { total overdue byStatus { status count } }
             children(first: 30) { edges { node { id name taskStats { total overdue } } } } } }""",
        True,
    ),
    "history": (
        "query SoakHistory { auditEvents(first: 20) { edges { node { seq action"
        " actor { username } } } } }",
        False,
    ),
    "units": (
        "query SoakUnits { orgUnits(first: 50) { edges { node { id name level } } } }",
        False,
    ),
    "records": (
        "query SoakRecords { records(first: 20) { edges { node {"
        " id type occurredAt summary } } } }",
        False,
    ),
}
VERSION = "query SoakVersion($id: ID!) { task(id: $id) { version } }"
CREATE = """
mutation SoakCreate($input: CreateTaskInput!) {
  createTask(input: $input) { task { id } errors { code } }
}
"""
TRANSITION = """
mutation SoakTransition($input: TransitionTaskInput!) {
  transitionTask(input: $input) { task { id version } errors { code } }
}
"""


class Unknown(Exception):
    """The request may or may not have taken effect: its connection broke."""


@dataclass
class Ledger:
    """Everything the clients were told, to be held against the database afterwards."""

    created: dict[str, int] = field(default_factory=dict)  # title -> task id
    created_unknown: set[str] = field(default_factory=set)
    transitions: Counter[int] = field(default_factory=Counter)  # task id -> acknowledged
    transitions_unknown: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    read_latencies: list[float] = field(default_factory=list)
    write_latencies: list[float] = field(default_factory=list)
    shared: set[int] = field(default_factory=set)  # every task id a client may transition
    by_account: Counter[str] = field(default_factory=Counter)  # steps taken, per account

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def acknowledged_mutations(self) -> int:
        return len(self.created) + sum(self.transitions.values())

    @property
    def unknown_mutations(self) -> int:
        return len(self.created_unknown) + sum(self.transitions_unknown.values())


@dataclass
class Target:
    host: str
    port: int


def error_codes(body: dict[str, Any]) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]


@dataclass
class Client:
    number: int
    username: str
    targets: list[Target]  # the servers; a client keeps to one, which may be replaced
    ledger: Ledger
    run_id: str
    rng: random.Random
    token: str = ""
    home_unit: str = ""
    shared: list[str] = field(default_factory=list)
    connection: Connection | None = None
    made: int = 0

    @property
    def target(self) -> Target:
        return self.targets[self.number % len(self.targets)]

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
            self.connection = None

    async def post(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One request. ``Unknown`` if the connection broke after it was sent."""
        target = self.target
        if self.connection is None or (self.connection.host, self.connection.port) != (
            target.host,
            target.port,
        ):
            await self.close()
            self.connection = Connection(target.host, target.port)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = json.dumps({"query": query, "variables": variables}).encode()
        try:
            status, raw = await self.connection.post("/graphql", body, headers)
        except (OSError, LoadError, asyncio.IncompleteReadError) as exc:
            await self.close()
            self.ledger.outcomes["transport error"] += 1
            raise Unknown(str(exc)) from exc
        self.ledger.statuses[status] += 1
        try:
            decoded: dict[str, Any] = json.loads(raw)
        except ValueError:
            decoded = {"errors": [{"extensions": {"code": f"HTTP {status}, not JSON"}}]}
        return decoded

    async def sign_in(self, tokens: dict[str, str]) -> None:
        """Log in (once per account: argon2 is slow by design) and read what to work on."""
        if self.username not in tokens:
            body = await self.post(LOGIN, {"u": self.username, "p": DEMO.password})
            login = (body.get("data") or {}).get("login") or {}
            if not login.get("token"):
                raise LoadError(f"{self.username} could not log in: {body}")
            tokens[self.username] = login["token"]
        self.token = tokens[self.username]
        me = (await self.post(ME, {}))["data"]["me"]
        self.home_unit = me["roles"][0]["orgUnit"]["id"]
        tasks = (await self.post(SHARED_TASKS, {"n": HOT_TASKS}))["data"]["tasks"]["edges"]
        self.shared = [edge["node"]["id"] for edge in tasks]
        self.ledger.shared.update(from_global_id(g)[1] for g in self.shared)

    async def step(self) -> None:
        """One read or one write; a broken connection is recorded and retried next step."""
        started = time.perf_counter()
        self.ledger.by_account[self.username] += 1
        try:
            if self.rng.random() < WRITE_SHARE:
                await self.write()
                self.ledger.write_latencies.append(time.perf_counter() - started)
            else:
                await self.read()
                self.ledger.read_latencies.append(time.perf_counter() - started)
        except Unknown:
            await asyncio.sleep(0.2)  # the server may be restarting: do not spin

    async def read(self) -> None:
        name = self.rng.choice(sorted(READS))
        query, wants_unit = READS[name]
        body = await self.post(query, {"unit": self.home_unit} if wants_unit else {})
        codes = error_codes(body)
        self.ledger.outcomes[f"read {codes[0]}" if codes else "read ok"] += 1

    async def write(self) -> None:
        if self.shared and self.rng.random() < 0.5:
            await self.transition(self.rng.choice(self.shared))
        else:
            await self.create()

    async def create(self) -> None:
        self.made += 1
        title = f"soak {self.run_id} c{self.number} n{self.made}"
        variables = {"input": {"title": title, "category": "PATROL", "orgUnitId": self.home_unit}}
        try:
            body = await self.post(CREATE, variables)
        except Unknown:
            self.ledger.created_unknown.add(title)
            raise
        payload = (body.get("data") or {}).get("createTask") or {}
        codes = error_codes(body) + [e["code"] for e in payload.get("errors") or []]
        if codes:
            self.ledger.outcomes[f"create {codes[0]}"] += 1
            if "SERVICE_UNAVAILABLE" in codes:  # refused, but was it before or after commit?
                self.ledger.created_unknown.add(title)
            return
        self.ledger.created[title] = from_global_id(payload["task"]["id"])[1]
        self.ledger.outcomes["create ok"] += 1

    async def transition(self, task: str) -> None:
        read = await self.post(VERSION, {"id": task})
        found = (read.get("data") or {}).get("task")
        if not found:
            self.ledger.outcomes[f"version read {(error_codes(read) or ['NONE'])[0]}"] += 1
            return
        action = self.rng.choice(("URGE", "REPLY"))
        variables = {
            "input": {
                "taskId": task,
                "action": action,
                "note": f"soak {self.run_id} from client {self.number}",
                "expectedVersion": found["version"],
            }
        }
        task_id = from_global_id(task)[1]
        try:
            body = await self.post(TRANSITION, variables)
        except Unknown:
            self.ledger.transitions_unknown[task_id] += 1
            raise
        payload = (body.get("data") or {}).get("transitionTask") or {}
        codes = error_codes(body) + [e["code"] for e in payload.get("errors") or []]
        if codes:
            self.ledger.outcomes[f"{action.lower()} {codes[0]}"] += 1
            if "SERVICE_UNAVAILABLE" in codes:
                self.ledger.transitions_unknown[task_id] += 1
            return
        self.ledger.transitions[task_id] += 1
        self.ledger.outcomes[f"{action.lower()} ok"] += 1


async def sign_in_all(
    targets: list[Target], ledger: Ledger, *, clients: int, run_id: str, seed: int = 1
) -> list[Client]:
    """Every client logged in, its home unit and shared tasks read (no writes yet)."""
    crowd = [
        Client(n, ACCOUNTS[n % len(ACCOUNTS)], targets, ledger, run_id, random.Random(seed + n))
        for n in range(clients)
    ]
    tokens: dict[str, str] = {}
    for client in crowd:
        await client.sign_in(tokens)
        await client.close()  # an idle kept-alive connection would be closed by the server
    return crowd


async def run_clients(crowd: list[Client], stop: asyncio.Event) -> None:
    """Every client loops until ``stop`` is set; then their connections close."""

    async def loop(client: Client) -> None:
        while not stop.is_set():
            await client.step()

    try:
        await asyncio.gather(*(loop(client) for client in crowd))
    finally:
        for client in crowd:
            with contextlib.suppress(Exception):
                await client.close()


VERIFY_LOGS = (
    "query SoakVerify { verifyAuditChain { ok checked firstBrokenSeq headSeq"
    " logs { origin ok checked } } }"
)


async def verify_every_log(crowd: list[Client]) -> dict[str, Any]:
    """``verifyAuditChain`` as each account of the crowd sees it, the logs put together: every
    county's log is checked by an account that may read it (an inspector, an administrator),
    once. ``checked`` counts the events of every log so checked."""
    logs: dict[str, dict[str, Any]] = {}
    ok = True
    seen: set[str] = set()
    for client in crowd:
        if client.username in seen:
            continue
        seen.add(client.username)
        answer = await client.post(VERIFY_LOGS, {})
        if answer.get("data") is None:  # an account that reads no audit trail: FORBIDDEN
            continue
        for log in answer["data"]["verifyAuditChain"]["logs"]:
            ok = ok and log["ok"]
            # An account that reads part of a county checks the part it reads: the log's
            # count is the widest reader's.
            kept = logs.get(log["origin"])
            if kept is None or log["checked"] > kept["checked"]:
                logs[log["origin"]] = log
    return {
        "ok": ok,
        "checked": sum(log["checked"] for log in logs.values()),
        "logs": sorted(logs),
    }
