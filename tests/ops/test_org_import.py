"""``riverchief import-org``: a CSV org tree, checked whole, imported all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.audit import AuditEvent
from models.enums import OrgLevel
from models.org import OrgUnit
from ops.org_import import InvalidFile, Problem, apply, decode, import_org, parse, plan
from ops.runtime import CommandError, cli_context
from policies.engine import PolicyEngine
from resolvers.audit_queries import verify_every_log
from tests.fixtures import Tree
from tests.operator_cli import database, in_process, riverchief

HEADER = "code,name,level,parent_code\n"


def problems_of(text: str, encoding: str = "utf-8") -> list[str]:
    try:
        _, problems = parse(decode(text.encode(encoding), encoding))
    except InvalidFile as invalid:
        return [str(p) for p in invalid.problems]
    return [str(p) for p in problems]


async def import_problems(data: bytes) -> list[str]:
    with pytest.raises(InvalidFile) as raised:
        await import_org(data)
    return [str(p) for p in raised.value.problems]


async def snapshot() -> tuple[list[tuple[str, str]], int]:
    units = await OrgUnit.all().order_by("id").values_list("code", "path")
    return units, await AuditEvent.all().count()


# -- the file on its own --------------------------------------------------------------------


def test_a_byte_order_mark_blank_lines_case_and_spaces_are_taken_in_stride() -> None:
    text = "\ufeffCode, Name ,LEVEL,parent_code\r\n\r\n wx ,威信县, county ,\r\n,,,\r\n"

    rows, problems = parse(decode(text.encode("utf-8"), "utf-8"))

    assert problems == []
    assert [(r.line, r.code, r.name, r.level, r.parent_code) for r in rows] == [
        (3, "wx", "威信县", OrgLevel.COUNTY, "")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["line 1: the file is empty: expected a header row code,name,level,parent_code"]),
        (HEADER, ["line 2: no units after the header row"]),
        ("code,name,level\nwx,威信县,COUNTY\n", ["line 1: missing column(s): parent_code"]),
        (
            "code;name;level;parent_code\n",
            ["line 1: the header is one column: the file must be comma-separated"],
        ),
        (
            "code,name,level,parent_code,note\n",
            ["line 1: unknown column(s): 'note'; the columns are code, name, level, parent_code"],
        ),
        (
            HEADER + "wx,威信县,COUNTY\nzx,,TOWNSHIP,wx\nsl,石龙村,HAMLET,zx\n"
            '"g1","网格\n一",GRID,sl\n',
            [
                "line 2: expected 4 fields (code,name,level,parent_code), found 3",
                "line 3: name is empty",
                "line 4: level 'HAMLET' is not one of COUNTY, TOWNSHIP, VILLAGE, GRID, "
                "DEPARTMENT, ENTERPRISE",
                "line 5: name contains a line break or control character",
            ],
        ),
        (
            HEADER + "wx,威信县,COUNTY,\nzx,扎西\x00镇,TOWNSHIP,wx\n",
            ["line 3: contains a NUL character (is the file UTF-16? pass --encoding)"],
        ),
        (HEADER + "x" * 65 + ",long,COUNTY,\n", ["line 2: code is longer than 64 characters"]),
    ],
)
def test_problems_of_the_file_itself_are_reported_by_line(text: str, expected: list[str]) -> None:
    assert problems_of(text) == expected


def test_bytes_that_are_not_utf8_are_reported_at_their_line() -> None:
    data = (HEADER + "wx,威信县,COUNTY,\n").encode("utf-8") + "zx,扎西镇,TOWNSHIP,wx\n".encode(
        "gb18030"
    )

    with pytest.raises(InvalidFile) as raised:
        decode(data, "utf-8")

    (problem,) = raised.value.problems
    assert problem.line == 3
    assert problem.message.startswith("not valid utf-8 text (byte 0xd4)")
    assert "--encoding (e.g. gb18030" in problem.message
    assert decode(data.decode("utf-8", "replace").encode("gb18030"), "gb18030").startswith(HEADER)


# -- the file against itself and the database ----------------------------------------------


async def test_parents_may_come_later_or_already_exist_and_each_unit_is_audited(
    tree: Tree,
) -> None:
    weixin = tree.units["weixin"]
    data = (
        HEADER + "nv,新村,VILLAGE,nt\n"  # its parent comes on the next line
        f"nt,新镇,TOWNSHIP,{weixin.code}\n"  # under a unit already in the database
        "ng2,户网格,GRID,ng1\n"
        "ng1,新村网格,GRID,nv\n"
        "ny,新县,COUNTY,\n"
    ).encode()

    done = await import_org(data)

    assert [u.code for u in done.units] == ["nt", "ny", "nv", "ng1", "ng2"]  # parents first
    units = {u.code: u for u in await OrgUnit.filter(code__in=["nt", "nv", "ng1", "ng2", "ny"])}
    assert units["nt"].parent_id == weixin.id
    assert units["nt"].path == f"{weixin.path}{units['nt'].id}/"
    assert units["ng2"].path == f"{units['ng1'].path}{units['ng2'].id}/"
    assert (units["ng2"].depth, units["ng2"].level) == (4, OrgLevel.GRID)
    assert units["ny"].path == f"/{units['ny'].id}/" and units["ny"].parent_id is None
    events = await AuditEvent.all().order_by("seq")
    assert [(e.action, e.entity_type, e.entity_id, e.org_path, e.actor_id) for e in events] == [
        ("org_unit.create", "org_unit", str(u.id), u.path, None) for u in done.units
    ]
    assert events[0].after == {
        "code": "nt",
        "name": "新镇",
        "level": "TOWNSHIP",
        "parent_code": weixin.code,
        "path": units["nt"].path,
    }
    assert {e.request_id for e in events} == {done.request_id}
    assert (done.first_seq, done.last_seq) == (1, 5)
    assert (await verify_every_log(None)).ok


async def test_a_file_with_any_problem_imports_nothing_and_says_where(tree: Tree) -> None:
    weixin, shilong = tree.units["weixin"], tree.units["shilong"]
    data = (
        (
            HEADER + "ok1,好镇,TOWNSHIP," + weixin.code + "\n"  # line 2: fine on its own
            "ok2,好村,VILLAGE,ok1\n"  # line 3: fine
            "v1,村,VILLAGE,nowhere\n"  # line 4
            "ok2,重复,VILLAGE,ok1\n"  # line 5
            "v2,村二,VILLAGE," + weixin.code + "\n"  # line 6: a village right under a county
            f"{shilong.code},石龙村,VILLAGE,ok1\n"  # line 7: already in the database
            "t1,镇,TOWNSHIP,\n"  # line 8: only a county is a root
            "ga,网格甲,GRID,gb\n"  # lines 9 and 10: a cycle
            "gb,网格乙,GRID,ga\n"
            "self,自己,GRID,self\n"  # line 11
            "kid,子,GRID,bad\n"  # line 12: its parent is a bad line, not an unknown one
            "bad,坏,PROVINCE,ok2\n"  # line 13
        ).encode()
    )
    before = await snapshot()

    problems = await import_problems(data)

    assert problems == [
        "line 4: unknown parent 'nowhere': not in the file, not in the database",
        "line 5: code 'ok2' is already on line 3",
        f"line 6: a VILLAGE unit cannot sit under COUNTY (parent {weixin.code!r})",
        f"line 7: a unit with code {shilong.code!r} already exists (shilong); "
        "the import only adds units",
        "line 8: parent_code is empty, but a TOWNSHIP unit needs a parent: only a COUNTY is a root",
        "line 9: parents form a cycle: ga → gb → ga",
        "line 10: parents form a cycle: ga → gb → ga",
        "line 11: a unit cannot be its own parent",
        "line 13: level 'PROVINCE' is not one of COUNTY, TOWNSHIP, VILLAGE, GRID, DEPARTMENT, "
        "ENTERPRISE",
    ]
    assert await snapshot() == before


async def test_units_nested_deeper_than_paths_allow_are_refused(tree: Tree) -> None:
    lines = [f"g0,网格0,GRID,{tree.units['shilong'].code}"]
    lines += [f"g{i},网格{i},GRID,g{i - 1}" for i in range(1, 20)]
    before = await snapshot()

    problems = await import_problems((HEADER + "\n".join(lines) + "\n").encode())

    # shilong is at depth 2: g0 at 3, … g17 at 20 fit; g18 and g19 do not
    assert problems == [
        "line 20: nested more than 20 levels below its county",
        "line 21: nested more than 20 levels below its county",
    ]
    assert await snapshot() == before


async def test_a_parent_removed_after_the_check_imports_nothing(tree: Tree) -> None:
    gone = await OrgUnit.place(
        code="gone", name="撤并镇", level=OrgLevel.TOWNSHIP, parent=tree.units["weixin"]
    )
    rows, _ = parse(f"{HEADER}nv,新村,VILLAGE,gone\n")
    checked = await plan(rows)
    await gone.delete()
    before = await snapshot()

    with pytest.raises(CommandError) as raised:
        await apply(checked, cli_context(PolicyEngine(), "import-org"))

    assert raised.value.message == (
        "NOT_FOUND: No org unit has the parent code 'gone'. The database changed during the "
        "import: nothing was imported"
    )
    assert raised.value.exit_code == 2
    assert await snapshot() == before


async def test_a_dry_run_checks_and_writes_nothing(tree: Tree) -> None:
    before = await snapshot()

    done = await import_org(
        f"{HEADER}nt,新镇,TOWNSHIP,{tree.units['weixin'].code}\n".encode(), dry_run=True
    )

    assert done.units == []
    assert await snapshot() == before


async def test_another_encoding_when_asked(tree: Tree) -> None:
    data = f"{HEADER}nt,新镇,TOWNSHIP,{tree.units['weixin'].code}\n".encode("gb18030")

    done = await import_org(data, encoding="gb18030")

    assert [(u.code, u.name) for u in done.units] == [("nt", "新镇")]


def test_a_problem_reads_as_its_line() -> None:
    assert str(Problem(7, "code is empty")) == "line 7: code is empty"


# -- from the shell -------------------------------------------------------------------------


async def test_import_org_from_the_shell(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "county.csv"
    good.write_bytes(
        b"\xef\xbb\xbf" + (HEADER + "zx,扎西镇,TOWNSHIP,wx\nwx,威信县,COUNTY,\n").encode()
    )
    bad = tmp_path / "more.csv"
    bad.write_text(HEADER + "sl,石龙村,VILLAGE,zx\ng1,网格,GRID,nowhere\n", encoding="utf-8")

    imported = await riverchief(empty_database_url, "import-org", str(good))
    refused = await in_process(monkeypatch, empty_database_url, "import-org", str(bad))
    missing = await in_process(monkeypatch, empty_database_url, "import-org", str(tmp_path / "x"))

    assert imported.status == 0, imported.err
    assert imported.out.startswith(f"imported 2 org unit(s) from {good} in one transaction")
    assert refused.status == 2
    assert refused.err.splitlines()[-2:] == [
        f"riverchief: {bad}: 1 problem(s); nothing was imported",
        "  line 3: unknown parent 'nowhere': not in the file, not in the database",
    ]
    assert missing.status == 2
    assert f"riverchief: cannot read {tmp_path / 'x'}: No such file or directory" in missing.err
    async with database(empty_database_url):
        units = await OrgUnit.all().order_by("path").values_list("code", "level", "depth")
        assert units == [("wx", OrgLevel.COUNTY, 0), ("zx", OrgLevel.TOWNSHIP, 1)]
        actions = await AuditEvent.all().order_by("seq").values_list("action", "actor_id")
        # The first start seeds the role policy: that is a change of its own.
        assert actions == [("policy.add", None)] + [("org_unit.create", None)] * 2
