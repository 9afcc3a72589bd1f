"""What the request context knows of the policy engine: the decisions and changes resolvers
and the guard ask of it. The engine itself (pycasbin and its indexes) lives in ``policies``;
this is its shape, so the floor names no package above it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tortoise.backends.base.client import BaseDBAsyncClient


@dataclass(frozen=True)
class Grant:
    """``role`` held at the unit whose path is ``prefix`` (the domain without its ``*``)."""

    subject: str
    role: str
    prefix: str

    @property
    def domain(self) -> str:
        return f"{self.prefix}*"


class Policy(Protocol):
    def enforce(self, subject: str, path: str, level: str, resource: str, action: str) -> bool:
        """The authoritative decision for one object."""

    def grants_of(self, subject: str) -> list[Grant]:
        """The subject's grants, as held now."""

    def roles_with(self, resource: str, action: str) -> dict[str, frozenset[str]]:
        """Roles that may do ``action`` on ``resource``, each with its levels (or ``*``)."""

    def permissions_of_role(self, role: str) -> list[tuple[str, str, str]]:
        """(level, resource, action) for every permission line of ``role``."""

    def covers(self, prefix: str) -> tuple[str, ...]:
        """Every path prefix a grant at ``prefix`` covers for every right of its role: its
        subtree, and for a basin committee the units its basin runs through."""

    def basin_of(self, prefix: str, path: str) -> int | None:
        """The water body (a basin committee's basin) through which a grant at ``prefix``
        covers the unit at ``path``, when it covers it only through that basin."""

    def reach(self, prefix: str) -> tuple[str, ...]:
        """Every path prefix a grant at ``prefix`` covers for the rights that pass through
        pairings (reading, patrols, clean-ups): what it ``covers``, and its pairings."""

    async def apply_grant(self, grant: Grant) -> None:
        """Mirror a committed grant into this process."""

    async def apply_revoke(self, grant: Grant) -> None:
        """Mirror a committed revocation into this process."""

    async def announce_change(self, conn: BaseDBAsyncClient) -> None:
        """Tell the other processes, when the transaction commits."""

    async def reload(self) -> None:
        """Read the rules, grants and pairings again (after a change to the role policy)."""
