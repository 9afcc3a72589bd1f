"""``OrgLink``: a unit's pairing with a unit outside its subtree or with a water body."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.org import OrgLink as OrgLinkModel
from resolvers import org as org_resolvers
from resolvers.loaders import loaders
from resolvers.people import visible_person
from resolvers.water import get_water_body
from schema.context import ctx
from schema.enums import LinkKind
from schema.org import OrgUnit
from schema.people import Person
from schema.water import WaterBody


@strawberry.type(
    description="A pairing: 支部联建 with a unit outside the subtree (`partner`), 挂钩联系 with "
    "a river or segment, an enterprise's responsibility segment, or a basin committee's basin "
    "(`waterBody`); or a key project at the unit held by a county leader (`person`, 三挂三包)."
)
class OrgLink:
    kind: LinkKind = strawberry.field(description="What kind of pairing it is.")
    note: str = strawberry.field(description="What the pairing is for, in the programme's words.")
    _model: strawberry.Private[OrgLinkModel]

    @classmethod
    def of(cls, link: OrgLinkModel) -> OrgLink:
        return cls(kind=link.kind, note=link.note, _model=link)

    @strawberry.field(
        description="The unit paired with (`CO_BUILDING`); null for a water body's pairing, or "
        "when you may not read that unit."
    )
    async def partner(self, info: Info) -> OrgUnit | None:
        return OrgUnit.maybe(await org_resolvers.get_unit(ctx(info), self._model.partner_id))

    @strawberry.field(
        description="The water body paired with (`RIVER_PAIRING`, `RESPONSIBILITY`, `BASIN`); "
        "null for "
        "a unit's pairing, or when you may not read that water body."
    )
    async def water_body(self, info: Info) -> WaterBody | None:
        return WaterBody.maybe(await get_water_body(ctx(info), self._model.water_body_id))

    @strawberry.field(
        description="The county leader holding the key project (`KEY_PROJECT`, 三挂三包; the "
        "project is the `note`); null for other links, or when you may not read that person."
    )
    async def person(self, info: Info) -> Person | None:
        if self._model.person_id is None:
            return None
        found = await loaders(ctx(info)).person.load(self._model.person_id)
        return Person.maybe(await visible_person(ctx(info), found))
