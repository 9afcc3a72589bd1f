"""Delivery to the webhook: a real HTTP receiver on a free port that fails the first posts of
each notification. Every notification is taken (2xx) exactly once, by one worker on SQLite
and by two at once on PostgreSQL; ``notify-due`` and ``deliver-notifications`` as an
operator runs them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.main import create_app
from core.notify_settings import NotifySettings
from models.enums import TaskCategory, TaskStatus
from models.notification import Notification
from models.org import OrgUnit
from models.people import Person, User
from models.task import Task
from ops.notify import Webhook
from resolvers.outbox import undelivered
from resolvers.reminders import remind_overdue
from schema.node import to_global_id
from tests.conftest import ON_POSTGRES
from tests.fixtures import Tree
from tests.http.client import app_settings
from tests.operator_cli import database, in_process, small_county
from tests.servers import free_port

_TICK = timedelta(milliseconds=100)


@dataclass
class Receiver:
    """Answers 500 to the first ``failures`` posts of each Idempotency-Key, then 200."""

    url: str = ""
    failures: int = 2
    answers: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)

    async def post(self, request: Request) -> JSONResponse:
        key = request.headers["idempotency-key"]
        status = 500 if len(self.answers[key]) < self.failures else 200
        self.answers[key].append(status)
        self.raw[key] = await request.body()
        self.bodies[key] = json.loads(self.raw[key])
        self.headers[key] = dict(request.headers)
        await asyncio.sleep(0.01)  # a receiver takes a moment: workers overlap meanwhile
        return JSONResponse({"ok": status == 200}, status_code=status)

    def taken(self) -> dict[str, int]:
        """How many 2xx answers each notification got."""
        return {key: sum(200 <= s < 300 for s in seen) for key, seen in self.answers.items()}


@asynccontextmanager
async def receiving(failures: int = 2) -> AsyncIterator[Receiver]:
    receiver = Receiver(failures=failures)
    port = free_port()
    app = Starlette(routes=[Route("/hook", receiver.post, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
                await asyncio.sleep(0.02)
        receiver.url = f"http://127.0.0.1:{port}/hook"
        yield receiver
    finally:
        server.should_exit = True
        await serving


def settings_for(receiver: Receiver, **overrides: Any) -> NotifySettings:
    given: dict[str, Any] = {
        "webhook": receiver.url,
        "backoff_base": timedelta(milliseconds=50),
        "backoff_cap": timedelta(milliseconds=200),
        "timeout": timedelta(seconds=5),
        "batch": 4,
        **overrides,
    }
    return NotifySettings(**given)


async def worker(settings: NotifySettings, until: float) -> int:
    """Deliver what is due again and again until nothing is left undelivered."""
    delivered = 0
    async with httpx.AsyncClient() as client:
        webhook = Webhook(settings, client)
        while await undelivered() and time.monotonic() < until:
            delivered += (await webhook.deliver_due()).delivered
            await asyncio.sleep(0.02)
    return delivered


async def overdue_everywhere(tree: Tree) -> list[Notification]:
    """Every task of the tree overdue since yesterday, and reminded (twice: the job is
    idempotent)."""
    await Task.all().update(due_at=datetime.now(UTC) - timedelta(days=1))
    assert await remind_overdue() > 0
    assert await remind_overdue() == 0
    return await Notification.all().order_by("id")


async def test_an_overdue_task_is_delivered_once_per_recipient_despite_failures(
    tree: Tree,
) -> None:
    """The webhook fails twice for each notification; one worker on SQLite, two at once on
    PostgreSQL (claiming with SKIP LOCKED). Each recipient's notification is taken once."""
    notifications = await overdue_everywhere(tree)
    weixin = [n for n in notifications if n.task_id == tree.tasks["weixin"].id]
    # The county's task is its person's, who holds two accounts: two recipients.
    assert sorted(n.recipient_id for n in weixin) == sorted(
        [tree.users["county_admin"].id, tree.users["inspector"].id]
    )
    workers = 2 if ON_POSTGRES else 1

    async with receiving(failures=2) as receiver:
        settings = settings_for(receiver)
        until = time.monotonic() + 30
        delivered = await asyncio.gather(*(worker(settings, until) for _ in range(workers)))

    keys = {to_global_id("Notification", n.id) for n in notifications}
    assert sum(delivered) == len(notifications)
    assert all(delivered)  # on PostgreSQL both workers took a share of the rows
    assert receiver.taken() == dict.fromkeys(keys, 1)
    assert all(seen == [500, 500, 200] for seen in receiver.answers.values())
    rows = await Notification.all().values("attempts", "next_attempt_at", "last_error")
    assert rows == [{"attempts": 3, "next_attempt_at": None, "last_error": ""}] * len(rows)
    assert await Notification.filter(delivered_at__isnull=True).count() == 0
    shown = {
        receiver.bodies[to_global_id("Notification", n.id)]["recipient"]["username"] for n in weixin
    }
    assert shown == {"county_admin", "inspector"}


async def test_what_the_webhook_receives(tree: Tree) -> None:
    notification = (await overdue_everywhere(tree))[0]
    task = await Task.get(id=notification.task_id)
    key = to_global_id("Notification", notification.id)

    async with receiving(failures=0) as receiver:
        settings = settings_for(receiver, secret="s3cret", recipient_fields="both")
        await worker(settings, time.monotonic() + 10)

    recipient = await User.get(id=notification.recipient_id)
    person = await Person.get(id=recipient.person_id)
    assert receiver.bodies[key] == {
        "id": key,
        "kind": "TASK_OVERDUE",
        "recipient": {"username": recipient.username, "phone": person.phone},
        "title": f"逾期提醒：{task.title}",
        "body": notification.body,
        "createdAt": notification.created_at.isoformat(),
        "task": to_global_id("Task", task.id),
        "attempt": 1,
    }
    headers = receiver.headers[key]
    assert headers["idempotency-key"] == key
    assert headers["content-type"] == "application/json; charset=utf-8"
    expected = hmac.new(b"s3cret", receiver.raw[key], hashlib.sha256).hexdigest()
    assert headers["x-riverchief-signature"] == f"sha256={expected}"


async def test_an_unreachable_webhook_is_retried_later(tree: Tree) -> None:
    await overdue_everywhere(tree)
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens there
    async with httpx.AsyncClient() as client:
        done = await Webhook(
            NotifySettings(webhook=dead, backoff_base=timedelta(minutes=1)), client
        ).deliver_due()

    total = await Notification.all().count()
    assert (done.delivered, done.failed) == (0, total)
    rows = await Notification.all().values("attempts", "delivered_at", "last_error")
    assert {(r["attempts"], r["delivered_at"]) for r in rows} == {(1, None)}
    assert all(r["last_error"].startswith("ConnectError") for r in rows)
    assert await Notification.filter(next_attempt_at__lte=datetime.now(UTC)).count() == 0


async def test_the_operator_commands_remind_and_deliver(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database(empty_database_url):
        ids = await small_county()
        village = await OrgUnit.get(code="sl")
        await Task.create(
            title="清理石龙村河段",
            category=TaskCategory.CLEANUP,
            status=TaskStatus.ASSIGNED,
            org_unit=village,
            issuer_unit=await OrgUnit.get(code="zx"),
            due_at=datetime(2020, 5, 1, 10, 0, tzinfo=UTC),
        )
    monkeypatch.setenv("RIVERCHIEF_CLEANUP_DAYS", "")  # today's weekday must not matter

    first = await in_process(monkeypatch, empty_database_url, "notify-due", "--json")
    second = await in_process(monkeypatch, empty_database_url, "notify-due", "--json")
    no_webhook = await in_process(
        monkeypatch, empty_database_url, "deliver-notifications", "--once"
    )
    async with receiving(failures=0) as receiver:
        monkeypatch.setenv("RIVERCHIEF_NOTIFY_WEBHOOK", receiver.url)
        delivered = await in_process(
            monkeypatch, empty_database_url, "deliver-notifications", "--once"
        )

    assert (first.status, json.loads(first.out)) == (0, {"overdue": 1, "cleanup": 0})
    assert (second.status, json.loads(second.out)) == (0, {"overdue": 0, "cleanup": 0})
    assert no_webhook.status == 2
    assert "RIVERCHIEF_NOTIFY_WEBHOOK is not set" in no_webhook.err
    assert (delivered.status, delivered.out.strip()) == (
        0,
        "notifications delivered: 1, failed: 0",
    )
    (body,) = receiver.bodies.values()
    assert (body["kind"], body["recipient"]) == ("TASK_OVERDUE", {"username": "admin"})
    assert ids["admin"] > 0


async def test_serve_delivers_in_the_background_when_asked(tree: Tree) -> None:
    """``serve --deliver``: the app's lifespan runs a worker beside the server."""
    await overdue_everywhere(tree)
    async with receiving(failures=1) as receiver:
        app = create_app(
            app_settings(), register_database=False, deliver=settings_for(receiver, poll=_TICK)
        )
        async with app.router.lifespan_context(app), asyncio.timeout(20):
            while await undelivered():  # noqa: ASYNC110 - the worker runs in the app
                await asyncio.sleep(0.05)

    assert set(receiver.taken().values()) == {1}
    assert len(receiver.taken()) == await Notification.all().count()
