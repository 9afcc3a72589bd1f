from models.enums import OrgLevel
from models.org import OrgUnit


async def test_a_county_is_a_root_with_its_own_path(db: object) -> None:
    county = await OrgUnit.place(code="C", name="County", level=OrgLevel.COUNTY)

    assert county.path == f"/{county.id}/"
    assert (await OrgUnit.get(id=county.id)).path == f"/{county.id}/"
