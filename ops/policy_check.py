"""``riverchief policy check``: role grants that no longer hold up.

A grant row (``g, user:<id>, <role>, <path>*``) does not say who made it; the audit trail
does. Every grant the API (or ``riverchief grant``) makes writes a ``role.grant`` event whose
actor is the granter and whose ``after`` is ``{user_id, role, unit}``, ``unit`` being the
grant's path. A grant's granter is the actor of the latest such event for the same account,
role and path, unless a ``role.revoke`` event for them came later (then the row was put back
by other means, and the grant counts as unattributed).

Each grant is checked for:

- ``missing_user``: its account no longer exists;
- ``inactive_user``: its account is deactivated;
- ``missing_unit``: no org unit has its path (the unit was removed or moved);
- ``outside_granter_scope``: its granter could not make it today: the API's own check
  (``authorize_grant``: scope, every right of the role, pairings) refuses it for the granter
  under the current policy, or the granter's account is gone;
- ``malformed``: the row is not ``user:<id>`` with a ``<path>*`` domain.

Grants no audit event attributes (the benchmark data's, the bootstrap and other operator
grants, or rows written straight into the database) are listed apart as ``unattributed``:
with ``--strict`` they count as findings too.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from core.context import RequestContext, Viewer
from core.errors import DomainError
from core.settings import Settings
from models.audit import AuditEvent
from models.org import OrgUnit
from models.people import User
from models.policy import CasbinRule
from ops.help_text import RawHelpFormatter
from ops.runtime import EXIT_FAILED, EXIT_OK, cli_context, opened, run, say
from policies.engine import PolicyEngine, grant_prefix
from resolvers.grants import authorize_grant

LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Finding:
    kind: str
    rule_id: int
    subject: str
    username: str | None
    role: str
    path: str
    unit_code: str | None
    granter: str | None
    granted_in_seq: int | None
    detail: str

    def line(self) -> str:
        who = f"{self.username} ({self.subject})" if self.username else self.subject
        where = f"{self.unit_code} {self.path}" if self.unit_code else self.path
        by = ""
        if self.granter:
            by = f"; granted by {self.granter} in audit event {self.granted_in_seq}"
        return f"{self.kind:<22} {who}: {self.role} at {where}{by}: {self.detail}"


@dataclass
class PolicyReport:
    grants: int = 0
    findings: list[Finding] = field(default_factory=list)
    unattributed: list[Finding] = field(default_factory=list)

    def clean(self, strict: bool = False) -> bool:
        return not self.findings and not (strict and self.unattributed)

    def as_json(self, strict: bool = False) -> dict[str, Any]:
        return {
            "clean": self.clean(strict),
            "grants": self.grants,
            "findings": [asdict(f) for f in self.findings],
            "unattributed": [asdict(f) for f in self.unattributed],
        }

    def text(self, strict: bool = False) -> str:
        lines = [
            f"checked {self.grants} grant(s): {len(self.findings)} finding(s), "
            f"{len(self.unattributed)} unattributed"
            + (" (counted: --strict)" if strict else " (not counted without --strict)")
        ]
        lines += [f"  {f.line()}" for f in self.findings]
        if self.unattributed:
            lines.append("unattributed (no role.grant event names a granter):")
            lines += [f"  {f.line()}" for f in self.unattributed]
        return "\n".join(lines)


@dataclass(frozen=True)
class Attribution:
    seq: int
    action: str
    actor_id: int | None


@contextmanager
def hypothetical_denials() -> Iterator[None]:
    """Asking "could the granter make this grant today?" is not a request being refused:
    keep those answers out of the access log, which records real denials."""
    access = logging.getLogger("riverchief.access")
    was = access.disabled
    access.disabled = True
    try:
        yield
    finally:
        access.disabled = was


async def attributions() -> dict[tuple[int, str, str], Attribution]:
    """The latest role.grant or role.revoke event for each (user id, role, path)."""
    latest: dict[tuple[int, str, str], Attribution] = {}
    events = (
        await AuditEvent.filter(action__in=["role.grant", "role.revoke"], entity_type="user")
        .order_by("seq")
        .values("seq", "action", "actor_id", "before", "after")
    )
    for event in events:
        facts = event["after"] if event["action"] == "role.grant" else event["before"]
        if not isinstance(facts, dict):
            continue
        try:
            key = (int(facts["user_id"]), str(facts["role"]), str(facts["unit"]))
        except (KeyError, TypeError, ValueError):
            continue
        latest[key] = Attribution(int(event["seq"]), str(event["action"]), event["actor_id"])
    return latest


async def _by_chunks(model: Any, column: str, values: set[Any]) -> list[Any]:
    found: list[Any] = []
    ordered = sorted(values)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        lookup = {f"{column}__in": ordered[start : start + LOOKUP_CHUNK]}
        found.extend(await model.filter(**lookup))
    return found


def _user_id(subject: str) -> int | None:
    kind, _, raw = subject.partition(":")
    return int(raw) if kind == "user" and raw.isdigit() else None


async def check_policy(engine: PolicyEngine) -> PolicyReport:
    """Every grant, checked (the database open, ``engine`` loaded from it)."""
    rules = await CasbinRule.filter(ptype="g").order_by("id")
    user_ids = {uid for r in rules if (uid := _user_id(r.v0)) is not None}
    paths = {grant_prefix(r.v2) for r in rules}
    users: dict[int, User] = {u.id: u for u in await _by_chunks(User, "id", user_ids)}
    units: dict[str, OrgUnit] = {u.path: u for u in await _by_chunks(OrgUnit, "path", paths)}
    latest = await attributions()
    granter_ids = {a.actor_id for a in latest.values() if a.actor_id is not None}
    granters: dict[int, User] = {u.id: u for u in await _by_chunks(User, "id", granter_ids)}
    contexts: dict[int, RequestContext] = {}
    report = PolicyReport(grants=len(rules))

    for rule in rules:
        user_id = _user_id(rule.v0)
        path = grant_prefix(rule.v2)
        user = users.get(user_id) if user_id is not None else None
        unit = units.get(path)
        attribution = latest.get((user_id, rule.v1, path)) if user_id is not None else None
        if attribution is not None and attribution.action != "role.grant":
            attribution = None
        granter = (
            granters.get(attribution.actor_id)
            if attribution is not None and attribution.actor_id is not None
            else None
        )

        about: dict[str, Any] = {
            "rule_id": rule.id,
            "subject": rule.v0,
            "username": user.username if user else None,
            "role": rule.v1,
            "path": path,
            "unit_code": unit.code if unit else None,
            "granter": granter.username if granter else None,
            "granted_in_seq": attribution.seq if attribution else None,
        }

        def finding(kind: str, detail: str, about: dict[str, Any] = about) -> Finding:
            return Finding(kind=kind, detail=detail, **about)

        if user_id is None or not rule.v2.endswith("*") or not path.startswith("/"):
            report.findings.append(finding("malformed", "not a user:<id> grant at <path>*"))
            continue
        if user is None:
            report.findings.append(finding("missing_user", f"no account has id {user_id}"))
        elif not user.is_active:
            report.findings.append(finding("inactive_user", "the account is deactivated"))
        if unit is None:
            report.findings.append(finding("missing_unit", "no org unit has this path"))
        if attribution is None or attribution.actor_id is None:
            report.unattributed.append(
                finding("unattributed", "no role.grant event in the audit trail names a granter")
            )
            continue
        if granter is None:
            report.findings.append(
                finding(
                    "outside_granter_scope",
                    f"the granter's account (id {attribution.actor_id}) no longer exists",
                )
            )
            continue
        if user is None or unit is None:
            continue  # nothing to ask the granter about
        context = contexts.get(granter.id)
        if context is None:
            viewer = Viewer(id=granter.id, username=granter.username, person_id=granter.person_id)
            context = contexts[granter.id] = cli_context(engine, "policy-check", viewer)
        try:
            with hypothetical_denials():
                await authorize_grant(context, user.id, rule.v1, unit.id)
        except DomainError as refusal:
            report.findings.append(
                finding(
                    "outside_granter_scope",
                    f"{granter.username} could not grant it today: "
                    f"{refusal.code.value}: {refusal.message}",
                )
            )
    return report


def cmd_policy_check(settings: Settings, args: argparse.Namespace) -> int:
    async def work() -> int:
        async with opened(settings):
            engine = PolicyEngine()
            await engine.reload()
            report = await check_policy(engine)
        if args.json:
            say(json.dumps(report.as_json(args.strict), ensure_ascii=False, indent=2))
        else:
            say(report.text(args.strict))
        return EXIT_OK if report.clean(args.strict) else EXIT_FAILED

    return run(work)


def register(commands: Any) -> None:
    policy = commands.add_parser(
        "policy",
        help="inspect the authorization policy",
        description="Inspect the authorization policy: `riverchief policy check`.",
    )
    checks = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    check = checks.add_parser(
        "check",
        help="list grants that reach outside their granter's scope or name missing things",
        description=(__doc__ or "").split("\n\n", 1)[1],
        formatter_class=RawHelpFormatter,
        epilog="Exit status: 0 clean, 1 findings, 2 the command could not run.",
    )
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument(
        "--strict", action="store_true", help="count unattributed grants as findings"
    )
    check.set_defaults(func=cmd_policy_check)
