"""``riverchief notify-due`` and ``riverchief deliver-notifications``: the outbox's jobs.

``notify-due`` writes the periodic reminders (``resolvers.reminders``): a task overdue, once
per due date; on a clean-up day of the schedule, one reminder per account. Run it from cron
(e.g. hourly); a second run, or two at once, writes nothing more.

``deliver-notifications`` posts every undelivered notification to
``RIVERCHIEF_NOTIFY_WEBHOOK`` (docs/notifications.md): at least once, with the header
``Idempotency-Key: <notification id>``, marked delivered only after a 2xx, retried with
exponential back-off otherwise. Several workers may run at once on PostgreSQL (each claims
its rows with ``FOR UPDATE SKIP LOCKED`` and a lease); SQLite takes one.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import httpx

from core.notify_settings import NotifySettings
from core.settings import Settings, SettingsError
from models.graph_names import global_id
from ops.runtime import EXIT_OK, CommandError, opened, run, say
from resolvers.outbox import Outgoing, claim, mark_delivered, mark_failed
from resolvers.reminders import remind_due

log = logging.getLogger("riverchief.notify")
USER_AGENT = "riverchief-notify/1"
SIGNATURE_HEADER = "X-Riverchief-Signature"


def payload(notification: Outgoing, recipient_fields: str) -> dict[str, Any]:
    """The JSON body the webhook receives (docs/notifications.md)."""
    recipient: dict[str, str] = {}
    if recipient_fields in ("username", "both"):
        recipient["username"] = notification.username
    if recipient_fields in ("phone", "both"):
        recipient["phone"] = notification.phone
    return {
        "id": global_id("Notification", notification.id),
        "kind": notification.kind.value,
        "recipient": recipient,
        "title": notification.title,
        "body": notification.body,
        "createdAt": notification.created_at.isoformat(),
        "task": global_id("Task", notification.task_id) if notification.task_id else None,
        "attempt": notification.attempts,
    }


@dataclass
class Round:
    """One pass over what was due: how many posts succeeded and failed."""

    delivered: int = 0
    failed: int = 0


class Webhook:
    """Posts notifications to the configured URL."""

    def __init__(self, settings: NotifySettings, client: httpx.AsyncClient) -> None:
        if settings.webhook is None:
            raise SettingsError("RIVERCHIEF_NOTIFY_WEBHOOK is not set: nowhere to deliver to")
        self.settings = settings
        self.url = settings.webhook
        self.client = client

    async def send(self, notification: Outgoing) -> str | None:
        """None when the receiver took it (2xx); otherwise what went wrong, in a line."""
        body = json.dumps(
            payload(notification, self.settings.recipient_fields), ensure_ascii=False
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": global_id("Notification", notification.id),
            "User-Agent": USER_AGENT,
        }
        if self.settings.secret:
            digest = hmac.new(self.settings.secret.encode(), body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={digest}"
        try:
            response = await self.client.post(
                self.url,
                content=body,
                headers=headers,
                timeout=self.settings.timeout.total_seconds(),
            )
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"[:500] or type(error).__name__
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}: {response.text[:200]}"

    async def deliver_due(self) -> Round:
        """Claim and post what is due, batch after batch, until nothing is due."""
        done = Round()
        while batch := await claim(self.settings.lease, self.settings.batch):
            for notification in batch:
                error = await self.send(notification)
                if error is None:
                    await mark_delivered(notification.id)
                    done.delivered += 1
                    continue
                retry = await mark_failed(
                    notification,
                    error,
                    base=self.settings.backoff_base,
                    cap=self.settings.backoff_cap,
                    max_attempts=self.settings.max_attempts,
                )
                done.failed += 1
                log.warning(
                    "notification %s not delivered (attempt %s): %s; %s",
                    notification.id,
                    notification.attempts,
                    error,
                    f"next attempt at {retry.isoformat()}" if retry else "given up",
                )
        return done

    async def deliver_until(self, stop: asyncio.Event) -> None:
        """Deliver what is due every ``poll`` until ``stop`` is set; a failing round (the
        database away) is logged and tried again at the next poll."""
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:
                log.exception("notification delivery round failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.poll.total_seconds())


@asynccontextmanager
async def delivering(settings: NotifySettings) -> AsyncIterator[None]:
    """Deliver in the background for the length of the block (``serve --deliver``)."""
    stop = asyncio.Event()
    async with httpx.AsyncClient() as client:
        worker = asyncio.create_task(Webhook(settings, client).deliver_until(stop))
        try:
            yield
        finally:
            stop.set()
            await worker


def notify_settings() -> NotifySettings:
    try:
        return NotifySettings.from_env()
    except SettingsError as error:
        raise CommandError(str(error)) from None


def cmd_notify_due(settings: Settings, args: argparse.Namespace) -> int:
    wanted = notify_settings()

    async def work() -> int:
        async with opened(settings):
            reminded = await remind_due(wanted.cleanup_days, wanted.cleanup_levels)
        if args.json:
            say(json.dumps({"overdue": reminded.overdue, "cleanup": reminded.cleanup}))
        else:
            say(f"reminders written: {reminded.overdue} overdue, {reminded.cleanup} clean-up day")
        return EXIT_OK

    return run(work)


def cmd_deliver(settings: Settings, args: argparse.Namespace) -> int:
    wanted = notify_settings()
    if wanted.webhook is None:
        raise CommandError("RIVERCHIEF_NOTIFY_WEBHOOK is not set: nowhere to deliver to")

    async def work() -> int:
        async with opened(settings), httpx.AsyncClient() as client:
            webhook = Webhook(wanted, client)
            if args.once:
                done = await webhook.deliver_due()
                say(f"notifications delivered: {done.delivered}, failed: {done.failed}")
                return EXIT_OK
            await webhook.deliver_until(asyncio.Event())  # until interrupted
        return EXIT_OK

    return run(work)


def register(commands: Any) -> None:
    due = commands.add_parser(
        "notify-due",
        help="write the periodic reminders: overdue tasks, clean-up days",
        description="Write a TASK_OVERDUE notification to the holder of every task overdue "
        "and not yet reminded since its due date passed, and, on a clean-up day of "
        "RIVERCHIEF_CLEANUP_DAYS, a CLEANUP_DAY reminder to every account that files "
        "clean-ups at a unit of RIVERCHIEF_CLEANUP_LEVELS. Idempotent: run it from cron as "
        "often as you like.",
        epilog="Exit status: 0 done, 2 the command could not run.",
    )
    due.add_argument("--json", action="store_true", help="print the counts as JSON")
    due.set_defaults(func=cmd_notify_due)
    deliver = commands.add_parser(
        "deliver-notifications",
        help="post undelivered notifications to RIVERCHIEF_NOTIFY_WEBHOOK",
        description="Post every undelivered notification to RIVERCHIEF_NOTIFY_WEBHOOK "
        "(JSON, `Idempotency-Key: <notification id>`), marking it delivered after a 2xx and "
        "retrying it with exponential back-off otherwise; then keep polling every "
        "RIVERCHIEF_NOTIFY_POLL seconds until interrupted. Several may run at once on "
        "PostgreSQL (docs/notifications.md).",
        epilog="Exit status: 0 done, 2 the command could not run, 130 interrupted.",
    )
    deliver.add_argument(
        "--once", action="store_true", help="deliver what is due now, then exit (cron, tests)"
    )
    deliver.set_defaults(func=cmd_deliver)
