"""Running ``riverchief`` as an operator does: a real process, on a real database.

``riverchief(url, ...)`` runs ``python -m app.cli ...`` against ``url``; ``in_process(url,
...)`` runs the same ``main`` in a thread of this process (its own event loop, as the console
script has), which is faster and still goes through argument parsing, the database opening
and closing, the printing and the exit code. ``database(url)`` opens the same database here,
migrated, to arrange things before and look at the effects after.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tortoise import Tortoise

from app.cli import main
from core.db import apply_migrations, tortoise_config
from models.enums import OrgLevel
from models.org import OrgUnit
from models.people import User
from models.policy import CasbinRule
from policies.engine import PolicyEngine
from tests.fixtures import PASSWORD_HASH

REPO = Path(__file__).resolve().parent.parent
SECRET = "operator-test-secret-long-enough-for-signing"


@dataclass(frozen=True)
class Completed:
    status: int
    out: str
    err: str


def environment(database_url: str, secret: str | None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "RIVERCHIEF_ENV": "test"}
    env.pop("RIVERCHIEF_SECRET", None)
    if secret is not None:
        env["RIVERCHIEF_SECRET"] = secret
    return env


async def riverchief(
    database_url: str, *args: str, secret: str | None = SECRET, stdin: bytes = b""
) -> Completed:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        cwd=REPO,
        env=environment(database_url, secret),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=120)
    assert process.returncode is not None
    return Completed(process.returncode, out.decode(), err.decode())


async def in_process(
    monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str, secret: str | None = SECRET
) -> Completed:
    """``main(args)`` in a worker thread, with the environment and output of a real run."""
    for name, value in environment(database_url, secret).items():
        monkeypatch.setenv(name, value)
    if secret is None:
        monkeypatch.delenv("RIVERCHIEF_SECRET", raising=False)
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                return main(list(args))
            except SystemExit as exit_:  # argparse refusing the arguments
                return int(exit_.code or 0)

    status = await asyncio.to_thread(call)
    return Completed(status, out.getvalue(), err.getvalue())


@contextlib.asynccontextmanager
async def database(database_url: str) -> AsyncIterator[None]:
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()


async def small_county() -> dict[str, int]:
    """A county with a township and a village; ``admin`` holds county_admin there (the first
    grant, written straight in, as an installation does), ``alice`` and ``bob`` hold nothing.
    The ids of the accounts."""
    await PolicyEngine().seed_if_empty()
    county = await OrgUnit.place(code="wx", name="威信县", level=OrgLevel.COUNTY)
    township = await OrgUnit.place(code="zx", name="扎西镇", level=OrgLevel.TOWNSHIP, parent=county)
    await OrgUnit.place(code="sl", name="石龙村", level=OrgLevel.VILLAGE, parent=township)
    ids = {}
    for name in ("admin", "alice", "bob"):
        ids[name] = (await User.create(username=name, password_hash=PASSWORD_HASH)).id
    await CasbinRule.create(
        ptype="g", v0=f"user:{ids['admin']}", v1="county_admin", v2=f"{county.path}*"
    )
    return ids
