"""Settings of complaints from the public, read once from the environment (README,
"Complaints from the public").

``RIVERCHIEF_COMPLAINT_LIMIT`` is how many complaints one client address may submit in a
fixed window, written ``<count>/<second|minute|hour|day>`` (default ``5/hour``).
``RIVERCHIEF_PUBLIC_URL`` is where the public complaint page is served (default
``http://localhost:8000``): a river sign's QR code points at
``<RIVERCHIEF_PUBLIC_URL>/complain?segment=<code>``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from urllib.parse import quote, urlsplit

from core.settings import SettingsError

LIMIT_ENV = "RIVERCHIEF_COMPLAINT_LIMIT"
PUBLIC_URL_ENV = "RIVERCHIEF_PUBLIC_URL"
DEFAULT_LIMIT = "5/hour"
DEFAULT_PUBLIC_URL = "http://localhost:8000"
COMPLAINT_PATH = "/complain"
WINDOWS = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}


@dataclass(frozen=True)
class ComplaintSettings:
    limit: int = 5
    window: timedelta = WINDOWS["hour"]
    public_url: str = DEFAULT_PUBLIC_URL

    def complaint_url(self, segment_code: str) -> str:
        """The public page for complaining about one segment: what its QR code holds."""
        return f"{self.public_url}{COMPLAINT_PATH}?segment={quote(segment_code, safe='')}"


def parse_limit(raw: str) -> tuple[int, timedelta]:
    count, slash, unit = raw.strip().partition("/")
    window = WINDOWS.get(unit.strip().lower())
    if not slash or window is None or not count.strip().isdigit() or int(count) < 1:
        raise SettingsError(
            f"{LIMIT_ENV} must be <count>/<second|minute|hour|day>, e.g. 5/hour, not {raw!r}"
        )
    return int(count), window


def _public_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise SettingsError(f"{PUBLIC_URL_ENV} must be an http:// or https:// URL without a query")
    return raw.rstrip("/")


def from_env(environ: Mapping[str, str]) -> ComplaintSettings:
    limit, window = parse_limit(environ.get(LIMIT_ENV, "") or DEFAULT_LIMIT)
    public_url = _public_url(environ.get(PUBLIC_URL_ENV, "") or DEFAULT_PUBLIC_URL)
    return ComplaintSettings(limit=limit, window=window, public_url=public_url)


@cache
def configured() -> ComplaintSettings:
    """This process's settings, from the environment, read once."""
    return from_env(os.environ)
