"""People and accounts. Phone and ID numbers are masked outside your management scope."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from core.context import Account
from models.people import Person as PersonModel
from models.people import User as UserModel
from policies.engine import Role
from policies.history import Holding
from resolvers import org as org_resolvers
from resolvers.access import HolderRow
from resolvers.grants import RoleGrantRow, grants_of_user
from resolvers.loaders import loaders
from resolvers.people import PeopleQuery, mask, may_see_pii, visible_person
from resolvers.users import user_in_scope
from schema.context import ctx
from schema.node import Node, pk_of, to_global_id
from schema.org import OrgUnit


@strawberry.type(description="A party member, cadre, river cleaner or enterprise river chief.")
class Person(Node):
    name: str = strawberry.field(description="The person's name.")
    title: str = strawberry.field(description="Post or title, e.g. 村党支部书记.")
    party_member: bool = strawberry.field(description="A member of the party.")
    _model: strawberry.Private[PersonModel]

    @classmethod
    def of(cls, person: PersonModel) -> Person:
        return cls(
            id=to_global_id("Person", person.id),
            name=person.name,
            title=person.title,
            party_member=person.party_member,
            _model=person,
        )

    @classmethod
    def maybe(cls, person: PersonModel | None) -> Person | None:
        return cls.of(person) if person is not None else None

    @strawberry.field(description="Masked unless the person is in your management scope.")
    async def phone(self, info: Info) -> str:
        shown = await may_see_pii(ctx(info), self._model)
        return self._model.phone if shown else mask(self._model.phone, 3, 4)

    @strawberry.field(description="Masked unless the person is in your management scope.")
    async def id_number(self, info: Info) -> str:
        shown = await may_see_pii(ctx(info), self._model)
        return self._model.id_number if shown else mask(self._model.id_number, 0, 4)

    @strawberry.field(description="The unit the person belongs to.")
    async def org_unit(self, info: Info) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), self._model.org_unit_id))


@strawberry.input(description="Narrows `people`; every condition given must hold.")
class PersonFilter:
    org_unit_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Only people of this unit's subtree (nothing when you may not read the unit).",
    )
    include_descendants: bool = strawberry.field(
        default=True, description="False: only the people of `orgUnitId` itself."
    )
    party_member: bool | None = strawberry.field(
        default=None, description="Only party members (true) or only others (false)."
    )

    def query(self) -> PeopleQuery:
        unit = None
        if self.org_unit_id is not None:
            unit = pk_of(self.org_unit_id, "OrgUnit") or -1
        return PeopleQuery(unit, self.include_descendants, self.party_member)


ACCOUNT_SEEN = "Null when you may not read that account (the rule of `explainAccess`'s `userId`)."


async def _account(info: Info, user_id: int | None) -> User | None:
    user = await user_in_scope(ctx(info), user_id)
    return User.of(user) if user is not None else None


@strawberry.type(description="A role held at a unit; it covers the unit's whole subtree.")
class RoleGrant:
    role: Role = strawberry.field(description="The role granted, e.g. township_head.")
    org_unit: OrgUnit = strawberry.field(description="The unit whose subtree the role covers.")
    granted_at: datetime | None = strawberry.field(
        description="When it was granted. Null only for a grant loaded straight into the "
        "database without its history."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null while it is held."
    )
    _holding: strawberry.Private[Holding | None]

    @classmethod
    def of(cls, row: RoleGrantRow) -> RoleGrant:
        held = row.holding
        return cls(
            role=Role(row.role),
            org_unit=OrgUnit.of(row.unit),
            granted_at=held.granted_at if held else None,
            revoked_at=held.revoked_at if held else None,
            _holding=held,
        )

    @strawberry.field(
        description="The account that granted it; null when no account did (the "
        f"installation's first grant, data loaded by the operator). {ACCOUNT_SEEN}"
    )
    async def granted_by(self, info: Info) -> User | None:
        return await _account(info, self._holding.granted_by_id if self._holding else None)

    @strawberry.field(
        description=f"The account that revoked it; null while it is held. {ACCOUNT_SEEN}"
    )
    async def revoked_by(self, info: Info) -> User | None:
        return await _account(info, self._holding.revoked_by_id if self._holding else None)


@strawberry.type(description="A grant that allowed a right on an object at the moment asked about.")
class AccessHolder:
    user: User = strawberry.field(description="The account that held the grant.")
    role: Role = strawberry.field(description="The role granted.")
    org_unit: OrgUnit = strawberry.field(description="The unit the role was granted at.")
    granted_at: datetime = strawberry.field(description="When it was granted.")
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked (after the moment asked about); null while it is held."
    )

    @classmethod
    def of(cls, row: HolderRow) -> AccessHolder:
        return cls(
            user=User.of(row.user),
            role=Role(row.holding.role),
            org_unit=OrgUnit.of(row.unit),
            granted_at=row.holding.granted_at,
            revoked_at=row.holding.revoked_at,
        )


@strawberry.type(description="A login account.")
class User(Node):
    username: str = strawberry.field(description="The login name.")
    _user_id: strawberry.Private[int]
    _person_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, user: UserModel | Account) -> User:
        """From the model, or from the row the token check read (``me``)."""
        return cls(
            id=to_global_id("User", user.id),
            username=user.username,
            _user_id=user.id,
            _person_id=user.person_id,
        )

    @strawberry.field(description="The roles this account holds, at units you can see.")
    async def roles(self, info: Info) -> list[RoleGrant]:
        return [RoleGrant.of(row) for row in await grants_of_user(ctx(info), self._user_id)]

    @strawberry.field(
        description="The person this account belongs to; null if none, or if you may not read "
        "that person. Phone and ID numbers are masked as on any person."
    )
    async def person(self, info: Info) -> Person | None:
        if self._person_id is None:
            return None
        context = ctx(info)
        found = await loaders(context).person.load(self._person_id)
        return Person.maybe(await visible_person(context, found))
