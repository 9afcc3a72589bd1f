"""Logging in: one answer for every failure, and throttling of repeated guesses.

Failures are kept in the database for a sliding window, so that every server process counts
the same, and are counted three ways:

- per account and client address: five failures from one address stop that address trying
  that account until they slide out of the window. They never stop another address: an
  attacker who knows a name cannot lock its owner out.
- per client address, across accounts: thirty stop one address trying names one after another.
- per account, across addresses: from the twentieth failure on, an address that has already
  failed at the account waits its turn, a second after the account's last failure, then two,
  four, … never more than thirty. Many addresses guessing at one account get one guess each
  and then, all of them together, one every half minute at most. An address that has not
  failed there is not made to wait: any wait it shared with the guessers is one they could
  hold for ever, so the owner, from an address of theirs that has not failed, always logs in.

A throttled answer says how long to wait. Unknown names are throttled exactly like real ones,
so neither the answer nor its timing tells which names exist; they are kept for the window
only, and the audit trail records a keyed digest of them, never the name. An IPv6 client is
counted by its /64 network, the block one subscriber is given, so that it cannot take a fresh
address for each guess.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from core import clock
from core.context import RequestContext, Viewer
from core.errors import DomainError, ErrorCode
from core.security import verify_password
from models.enums import AuditAction, AuditEntity
from models.people import LoginFailure, Person, User
from resolvers.audit import append_event

BAD_CREDENTIALS = "Unknown username or wrong password."
THROTTLED = "Too many failed logins: try again in {wait}."
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS = 5
MAX_FAILURES_PER_ADDRESS = 30
BACKOFF_AFTER = 20  # failures at one account, from all addresses, before each attempt waits
BACKOFF_FIRST = timedelta(seconds=1)  # doubled at each further failure
BACKOFF_LONGEST = timedelta(seconds=30)
MAX_USERNAME = 64
IPV6_SUBSCRIBER_PREFIX = 64


def throttle_address(client_address: str) -> str:
    """The address failures are counted under: an IPv4 address as it is, an IPv6 one as its
    /64 network, anything else (no address at all, ``cli``) as given."""
    try:
        address = ipaddress.ip_address(client_address)
    except ValueError:
        return client_address[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(address), IPV6_SUBSCRIBER_PREFIX), strict=False))
    return str(address)


async def _home_path(user: User | None) -> str:
    """The unit of the account's person, so that those overseeing it see its failed logins."""
    if user is None or user.person_id is None:
        return ""
    rows = await Person.filter(id=user.person_id).values_list("org_unit__path", flat=True)
    return str(rows[0]) if rows and rows[0] else ""


def _once_fewer_than(times: list[datetime], limit: int) -> datetime | None:
    """When fewer than ``limit`` of these failures are left in the window; None if already."""
    if len(times) < limit:
        return None
    return sorted(times)[len(times) - limit] + WINDOW


def backoff(failures: int) -> timedelta:
    """How long after the last failure at an account the next attempt waits, given how many
    failures the account has in the window from all addresses."""
    if failures < BACKOFF_AFTER:
        return timedelta(0)
    return min(BACKOFF_FIRST * (1 << min(failures - BACKOFF_AFTER, 16)), BACKOFF_LONGEST)


async def _not_before(attempt: LoginFailure) -> datetime | None:
    """When this attempt, already recorded, could have been checked; None if it may be now.

    The attempt is written before the others are counted, so concurrent guesses see each
    other: of N at once from one address, the k-th to be recorded counts at least k, and no
    more than the limit get through. In a back-off, of several attempts at once, each that
    counts after another was recorded sees it as a failure just made and waits, so at most
    one is checked; several at once from an address that has not failed make it one that has.
    """
    recent = LoginFailure.filter(at__gte=attempt.at - WINDOW).exclude(id=attempt.id)
    at_account = await recent.filter(username=attempt.username).values_list("address", "at")
    same_pair = [at for address, at in at_account if address == attempt.address]
    waits = [_once_fewer_than(same_pair, MAX_FAILURES_PER_ACCOUNT_AT_ADDRESS)]
    if attempt.address:
        at_address = await recent.filter(address=attempt.address).values_list("at")
        waits.append(_once_fewer_than([at for (at,) in at_address], MAX_FAILURES_PER_ADDRESS))
    if same_pair and len(at_account) >= BACKOFF_AFTER:
        until = max(at for _, at in at_account) + backoff(len(at_account))
        waits.append(until if until > attempt.at else None)
    found = [when for when in waits if when is not None]
    return max(found) if found else None


def _wait_in_words(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _as_recorded(context: RequestContext, user: User | None, username: str) -> dict[str, str]:
    """Who tried, for the audit trail. A name that is no account is often a password typed
    into the wrong field, and the trail keeps it for ever: only a keyed digest of it goes in,
    which still ties repeated guesses at one name together."""
    if user is not None:
        return {"username": user.username}
    if context.signer is None:  # no key to digest with: keep nothing of the name
        return {"unknown_username": ""}
    return {"unknown_username": context.signer.digest(username)[:16]}


async def _refuse(
    context: RequestContext,
    user: User | None,
    username: str,
    attempt: LoginFailure,
    *,
    not_before: datetime | None,
) -> DomainError:
    """Audit the failure in one transaction and say nothing specific. A throttled attempt
    is not counted as a failure: the window slides on real guesses only."""
    now = clock.now()
    async with in_transaction() as conn:
        await LoginFailure.filter(at__lt=now - WINDOW).using_db(conn).delete()
        if not_before is not None:
            await LoginFailure.filter(id=attempt.id).using_db(conn).delete()
        await append_event(
            conn,
            context,
            action=(
                AuditAction.USER_LOGIN_FAILED
                if not_before is None
                else AuditAction.USER_LOGIN_THROTTLED
            ),
            entity_type=AuditEntity.USER,
            entity_id=user.id if user else "",
            org_path=await _home_path(user),
            after={**_as_recorded(context, user, username), "address": context.client_address},
        )
    if not_before is None:
        return DomainError(ErrorCode.INVALID_CREDENTIALS, BAD_CREDENTIALS)
    wait = _wait_in_words(not_before - now)
    return DomainError(ErrorCode.TOO_MANY_ATTEMPTS, THROTTLED.format(wait=wait))


async def login(context: RequestContext, username: str, password: str) -> str:
    """A signed token, or one error that does not say which half was wrong."""
    username = username[:MAX_USERNAME]
    attempt = await LoginFailure.create(
        username=username, address=throttle_address(context.client_address), at=clock.now()
    )
    user = await User.get_or_none(username=username)
    not_before = await _not_before(attempt)
    if not_before is not None:
        raise await _refuse(context, user, username, attempt, not_before=not_before)
    # argon2 is slow by design: off the event loop, so other requests go on meanwhile.
    valid = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        raise await _refuse(context, user, username, attempt, not_before=None)
    async with in_transaction() as conn:
        # This address's own slips are forgiven; failures from elsewhere still count.
        await (
            LoginFailure.filter(username=username, address=attempt.address).using_db(conn).delete()
        )
        await User.filter(id=user.id).using_db(conn).update(last_login_at=datetime.now(UTC))
    if context.signer is None:
        raise DomainError(ErrorCode.VALIDATION, "Tokens are not issued here.")
    return context.signer.issue(user.id, user.token_version)


async def still_signed_in(viewer: Viewer) -> bool:
    """Whether a long-lived connection's account is still active and its tokens unrevoked.

    An HTTP request checks its token every time; an open subscription asks again before each
    event it would describe (its transport also watches it between events).
    """
    version = viewer.account.token_version if viewer.account is not None else None
    return await User.filter(id=viewer.id, is_active=True, token_version=version).exists()
