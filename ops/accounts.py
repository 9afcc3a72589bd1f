"""``riverchief create-user``, ``deactivate-user``, ``bootstrap-admin``, ``grant`` and
``revoke``: account and role changes from the operator's shell, through the code the API runs.

``grant`` and ``revoke`` act as a named account (``--as``) and run the API's own
``grantRole`` / ``revokeRole`` mutation in-process: the same field guard, the same checks
(scope, no escalation, pairings), the same audit event with the acting account as its actor,
and the same announcement to running servers. The CLI decides nothing about access; it only
turns names into ids and prints the answer. Creating and deactivating accounts have no
acting account: they are the operator's own power.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass
from typing import Any

from core.context import Account, Viewer
from core.errors import DomainError
from core.security import hash_password, password_problem
from core.settings import Settings
from models.org import OrgUnit
from models.people import User
from models.policy import CasbinRule
from ops.runtime import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNUSABLE,
    CommandError,
    check_database_url,
    cli_context,
    complain,
    opened,
    run,
    say,
)
from policies.announcer import announcing
from policies.engine import ROLES, PolicyEngine
from resolvers.account_status import deactivate_user

GRANT_ROLE = """
mutation GrantRole($input: GrantRoleInput!) {
  grantRole(input: $input) { grant { role } errors { field code message } }
}
"""
REVOKE_ROLE = """
mutation RevokeRole($input: GrantRoleInput!) {
  revokeRole(input: $input) { grant { role } errors { field code message } }
}
"""


@dataclass(frozen=True)
class Outcome:
    """What a command did, or the typed code and message of why it did not."""

    ok: bool
    message: str
    code: str | None = None

    def report(self) -> int:
        if self.ok:
            say(self.message)
            return EXIT_OK
        complain(f"{self.code}: {self.message}")
        return EXIT_FAILED


def refused(code: str, message: str) -> Outcome:
    return Outcome(False, message, code)


# -- create-user ---------------------------------------------------------------------------


async def create_user(settings: Settings, username: str, password: str) -> int:
    """Create the account (migrating the database first); its id."""
    async with opened(settings, migrate=True):
        if await User.exists(username=username):
            raise CommandError(f"a user named {username!r} already exists", EXIT_FAILED)
        user = await User.create(username=username, password_hash=hash_password(password))
        return int(user.id)


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    check_database_url(settings.database_url)  # before asking for a password in vain
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    problem = password_problem(password, args.username)
    if problem is not None:
        complain(problem)
        return EXIT_UNUSABLE

    async def work() -> int:
        user_id = await create_user(settings, args.username, password)
        say(f"created user {args.username} (id {user_id})")
        return EXIT_OK

    return run(work)


# -- deactivate-user ------------------------------------------------------------------------


async def deactivate(username: str) -> Outcome:
    """Deactivate the account named ``username`` (the database must be open)."""
    user = await User.get_or_none(username=username)
    if user is None:
        return refused("NOT_FOUND", f"no account named {username!r}")
    try:
        done = await deactivate_user(cli_context(PolicyEngine(), "deactivate-user"), user.id)
    except DomainError as error:
        return refused(error.code.value, error.message)
    held = await CasbinRule.filter(ptype="g", v0=f"user:{done.id}").count()
    note = (
        f"; it still holds {held} role grant(s): see `riverchief policy check`, and remove "
        "them with `riverchief revoke`"
        if held
        else ""
    )
    return Outcome(True, f"deactivated {username} (id {done.id}): its tokens no longer work{note}")


def cmd_deactivate_user(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        async with opened(settings):
            outcome = await deactivate(args.username)
        return outcome.report()

    return run(work)


# -- grant / revoke -------------------------------------------------------------------------


async def acting_as(username: str) -> Viewer | Outcome:
    """The account the command acts as: it must exist and be active, as a token's must."""
    account = await User.get_or_none(username=username)
    if account is None:
        return refused("UNAUTHENTICATED", f"no account named {username!r} to act as")
    if not account.is_active:
        return refused("UNAUTHENTICATED", f"the account {username!r} is deactivated")
    row = Account(account.id, account.username, account.person_id, account.token_version)
    return Viewer(id=row.id, username=row.username, person_id=row.person_id, account=row)


async def change_role(
    engine: PolicyEngine,
    *,
    acting: str,
    username: str,
    role: str,
    unit_code: str,
    revoke: bool = False,
) -> Outcome:
    """Grant (or revoke) ``role`` at the unit with ``unit_code`` to ``username``, as ``acting``,
    through the API's mutation. ``engine`` is loaded from the database and announces."""
    from schema.build import schema
    from schema.node import to_global_id

    if role not in ROLES:  # the mutation's `Role` would refuse it as a malformed document
        return refused("VALIDATION", f"Unknown role {role!r}.")
    viewer = await acting_as(acting)
    if isinstance(viewer, Outcome):
        return viewer
    target = await User.get_or_none(username=username)
    if target is None:
        return refused("NOT_FOUND", f"no account named {username!r}")
    unit = await OrgUnit.get_or_none(code=unit_code)
    if unit is None:
        return refused("NOT_FOUND", f"no org unit has the code {unit_code!r}")
    field, document = ("revokeRole", REVOKE_ROLE) if revoke else ("grantRole", GRANT_ROLE)
    variables = {
        "input": {
            "userId": to_global_id("User", target.id),
            "role": role,
            "orgUnitId": to_global_id("OrgUnit", unit.id),
        }
    }
    context = cli_context(engine, "revoke" if revoke else "grant", viewer)
    result = await schema.execute(document, variables, context_value=context)
    if result.errors:
        error = result.errors[0]
        return refused(str((error.extensions or {}).get("code", "ERROR")), error.message)
    payload: dict[str, Any] = (result.data or {})[field]
    if payload["errors"]:
        first = payload["errors"][0]
        return refused(str(first["code"]), str(first["message"]))
    done = "revoked" if revoke else "granted"
    preposition = "from" if revoke else "to"
    return Outcome(
        True,
        f"{done} {role} at {unit.name} [{unit.code}] {preposition} {username}, acting as {acting}",
    )


def cmd_grant(settings: Settings, args: argparse.Namespace) -> int:
    revoke = args.command == "revoke"

    async def work() -> int:
        async with opened(settings):
            engine = announcing(PolicyEngine())
            await engine.reload()
            outcome = await change_role(
                engine,
                acting=args.acting,
                username=args.username,
                role=args.role,
                unit_code=args.unit_code,
                revoke=revoke,
            )
        return outcome.report()

    return run(work)


async def bootstrap(engine: PolicyEngine, *, username: str, role: str, unit_code: str) -> Outcome:
    """The installation's first grant (``policies.bootstrap``), acting as nobody."""
    from resolvers.grants import bootstrap_grant

    try:
        row = await bootstrap_grant(cli_context(engine, "bootstrap"), username, role, unit_code)
    except DomainError as error:
        return refused(error.code.value, error.message)
    return Outcome(
        True, f"granted {role} at {row.unit.name} [{row.unit.code}] to {username}: the first grant"
    )


def cmd_bootstrap(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        async with opened(settings):
            engine = announcing(PolicyEngine())
            await engine.reload()
            outcome = await bootstrap(
                engine, username=args.username, role=args.role, unit_code=args.unit_code
            )
        return outcome.report()

    return run(work)


# -- the parser -----------------------------------------------------------------------------

EXIT_CODES = "Exit status: 0 done, 1 refused (the code and message are printed), 2 could not run."


def register(commands: Any) -> None:
    create = commands.add_parser(
        "create-user",
        help="create a login account",
        description="Create a login account named USERNAME, migrating the database first. "
        "The password is asked for at the terminal (or read from stdin) and must be at least "
        "10 characters, not easily guessed, and not contain the username. The account holds "
        "no role until `bootstrap-admin` or `grant` gives it one.",
        epilog=EXIT_CODES,
    )
    create.add_argument("username", help="the new account's login name")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of asking for it",
    )
    create.set_defaults(func=cmd_create_user)

    deactivate_parser = commands.add_parser(
        "deactivate-user",
        help="deactivate an account: it can no longer log in and its tokens stop working",
        description="Deactivate a login account. Its tokens stop working at once, in every "
        "server process, and a user.deactivate audit event is written. Its role grants stay: "
        "`riverchief policy check` lists them, and `riverchief revoke` removes them.",
        epilog=EXIT_CODES,
    )
    deactivate_parser.add_argument("username", help="the account to deactivate")
    deactivate_parser.set_defaults(func=cmd_deactivate_user)

    first = commands.add_parser(
        "bootstrap-admin",
        help="the first grant of a new installation, while no account holds any role",
        description="Grant ROLE (default county_admin) at the unit with code UNIT_CODE to "
        "USERNAME without acting as anyone. Allowed only while no account holds any role: "
        "nobody could make the first grant otherwise. From then on use `grant --as`. The "
        "audit event has no actor and is marked as the bootstrap.",
        epilog=EXIT_CODES,
    )
    first.add_argument("username", help="the account that gets the role")
    first.add_argument("unit_code", metavar="UNIT_CODE", help="the org unit's code")
    first.add_argument("--role", default="county_admin", help="the role to grant")
    first.set_defaults(func=cmd_bootstrap)

    for name, verb in (("grant", "grant"), ("revoke", "revoke")):
        change = commands.add_parser(
            name,
            help=f"{verb} a role at an org unit, acting as an account with the right to",
            description=f"{verb.capitalize()} ROLE at the unit with code UNIT_CODE (covering "
            f"its subtree) {'from' if name == 'revoke' else 'to'} USERNAME, acting as "
            "ACTING_USERNAME. The API's own rules decide: the acting account must hold the "
            "right to grant there, and every right of the role. The audit event names the "
            "acting account; on PostgreSQL, running servers reload the policy when the change "
            "commits (on SQLite, restart the server).",
            epilog=f"Roles: {', '.join(ROLES)}. {EXIT_CODES}",
        )
        change.add_argument("username", help="the account that gets (or loses) the role")
        change.add_argument("role", help="the role's name")
        change.add_argument("unit_code", metavar="UNIT_CODE", help="the org unit's code")
        change.add_argument(
            "--as",
            dest="acting",
            required=True,
            metavar="ACTING_USERNAME",
            help="the account that makes the change",
        )
        change.set_defaults(func=cmd_grant)
