"""The outbox's settings, read once from the environment (README, "Notifications").

Delivery: ``RIVERCHIEF_NOTIFY_WEBHOOK`` (unset: nothing is delivered, notifications are only
read in the graph), how long one post may take, the back-off between attempts (exponential
from a base, capped) and how many attempts are made. The clean-up day: which weekdays
(``RIVERCHIEF_CLEANUP_DAYS``, e.g. ``FRI`` for the 1110 mechanism's Friday clean-ups) and
which levels of unit it reminds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta, timezone
from urllib.parse import urlsplit

from core.settings import SettingsError, _positive

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
LEVELS = ("COUNTY", "TOWNSHIP", "VILLAGE", "GRID", "DEPARTMENT", "ENTERPRISE")
RECIPIENT_FIELDS = ("username", "phone", "both")
# The programmes' day starts in Beijing (UTC+8, no summer time): a clean-up day is its date.
LOCAL_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")


def _words(raw: str, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    words = tuple(dict.fromkeys(w.strip().upper() for w in raw.split(",") if w.strip()))
    unknown = [w for w in words if w not in allowed]
    if unknown:
        raise SettingsError(f"{name}: {', '.join(unknown)} not among {', '.join(allowed)}")
    return words


def _webhook(raw: str) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError("RIVERCHIEF_NOTIFY_WEBHOOK must be an http:// or https:// URL")
    return raw


@dataclass(frozen=True)
class NotifySettings:
    webhook: str | None = None
    # An HMAC-SHA256 key: each post carries `X-Riverchief-Signature: sha256=<hex of the body>`.
    secret: str = ""
    recipient_fields: str = "username"
    timeout: timedelta = timedelta(seconds=10)
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=1)
    max_attempts: int = 20
    poll: timedelta = timedelta(seconds=5)
    batch: int = 50
    cleanup_days: tuple[str, ...] = ("FRI",)
    cleanup_levels: tuple[str, ...] = ("VILLAGE", "GRID")

    @property
    def lease(self) -> timedelta:
        """How long a claimed notification stays with its worker: longer than a post may take,
        so another worker takes it over only when the first one has died."""
        return max(self.timeout * 3, timedelta(seconds=30))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> NotifySettings:
        env = os.environ if environ is None else environ
        fields = env.get("RIVERCHIEF_NOTIFY_RECIPIENT", "username").strip().lower()
        if fields not in RECIPIENT_FIELDS:
            raise SettingsError(
                f"RIVERCHIEF_NOTIFY_RECIPIENT must be one of {', '.join(RECIPIENT_FIELDS)}"
            )
        base = _positive(env, "RIVERCHIEF_NOTIFY_BACKOFF_BASE", 30)
        cap = _positive(env, "RIVERCHIEF_NOTIFY_BACKOFF_CAP", 3600)
        if cap < base:
            raise SettingsError(
                "RIVERCHIEF_NOTIFY_BACKOFF_CAP must be at least RIVERCHIEF_NOTIFY_BACKOFF_BASE"
            )
        return cls(
            webhook=_webhook(env.get("RIVERCHIEF_NOTIFY_WEBHOOK", "").strip()),
            secret=env.get("RIVERCHIEF_NOTIFY_SECRET", ""),
            recipient_fields=fields,
            timeout=timedelta(seconds=_positive(env, "RIVERCHIEF_NOTIFY_TIMEOUT", 10)),
            backoff_base=timedelta(seconds=base),
            backoff_cap=timedelta(seconds=cap),
            max_attempts=_positive(env, "RIVERCHIEF_NOTIFY_MAX_ATTEMPTS", 20),
            poll=timedelta(seconds=_positive(env, "RIVERCHIEF_NOTIFY_POLL", 5)),
            cleanup_days=_words(
                env.get("RIVERCHIEF_CLEANUP_DAYS", "FRI"), WEEKDAYS, "RIVERCHIEF_CLEANUP_DAYS"
            ),
            cleanup_levels=_words(
                env.get("RIVERCHIEF_CLEANUP_LEVELS", "VILLAGE,GRID"),
                LEVELS,
                "RIVERCHIEF_CLEANUP_LEVELS",
            ),
        )


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2×base, 4×base, … up to cap."""
    if attempts < 1:
        return timedelta(0)
    delay: timedelta = base * (2 ** min(attempts - 1, 30))
    return min(delay, cap)
