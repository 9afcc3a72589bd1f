"""The whole dataset as a stream of row batches, in an order the database accepts.

First the counties' trees, accounts and grants, the indicator catalogue and observations;
then two years of history, day by day and county by county, each day's audit events
appended once no later planning can reach back into it. Every random choice comes from a
``Random`` seeded with the seed and what it is for, so one part never shifts another (the
grant count, for one, leaves tasks, records and the audit trail exactly as they are).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from random import Random
from typing import Final

from bench.data_accounts import Accounts
from bench.data_audit import Chain
from bench.data_clock import HISTORY_DAYS, HOUR, day_start
from bench.data_indicators import Catalogue, write_observations
from bench.data_records import RecordMaker
from bench.data_tables import Batch, Rows
from bench.data_tasks import TaskMaker
from bench.data_tree import County, Ids, TreeBuilder

COUNTY_TASKS: Final = 200_000  # a county's tasks: more than this, and there are more counties
PROGRESS_DAYS: Final = 73  # log progress ten times over the history

log = logging.getLogger("riverchief.bench")


@dataclass(frozen=True)
class Scale:
    tasks: int
    seed: int = 1
    grants: int | None = None  # None: one per unit head and inspector

    @property
    def counties(self) -> int:
        return -(-self.tasks // COUNTY_TASKS)

    def tasks_of(self, county: int) -> int:
        share, extra = divmod(self.tasks, self.counties)
        return share + (county < extra)

    def rng(self, purpose: str, county: int) -> Random:
        return Random(f"{self.seed}:{purpose}:{county}")


class History:
    """One county's two years: task families each day, and records made without a task."""

    def __init__(self, scale: Scale, county: County, ids: Ids, rows: Rows, chain: Chain) -> None:
        self.rng = rng = scale.rng("history", county.index)
        self.tasks_total = scale.tasks_of(county.index)
        self.records = RecordMaker(rng, county, ids, rows, chain, self.tasks_total * 5 // 2)
        self.tasks = TaskMaker(rng, county, ids, rows, chain, self.records)
        self.tasks_made = 0

    def day(self, day: int) -> None:
        target = self.tasks_total * (day + 1) // HISTORY_DAYS
        while self.tasks_made < target:
            created = day_start(day) + self.rng.randrange(10 * HOUR)  # 08:00-18:00 Beijing
            self.tasks_made += self.tasks.family(created, target - self.tasks_made)
        records_due = self.records.budget * (day + 1) // HISTORY_DAYS
        self.records.day(day, records_due - self.records.made)


def generate(scale: Scale, first_rule_id: int, password_hash: str) -> Iterator[Batch]:
    """Every row of the dataset, in batches; ``first_rule_id`` follows the role policy's."""
    rows = Rows()
    ids = Ids(casbin_rule=first_rule_id)
    accounts = Accounts(ids, rows, password_hash)
    counties = []
    for index in range(scale.counties):
        county = TreeBuilder(scale.rng("tree", index), ids, rows).county(index)
        accounts.county(county)
        counties.append(county)
        yield from rows.drain_if_full()
    accounts.write_grants(counties, scale.grants)
    catalogue = Catalogue()
    catalogue.write(rows)
    for county in counties:
        rng = scale.rng("observations", county.index)
        write_observations(rng, county, catalogue, ids, rows, scale.tasks_of(county.index) // 2)
        yield from rows.drain_if_full()
    chain = Chain(rows)
    histories = [History(scale, county, ids, rows, chain) for county in counties]
    for day in range(HISTORY_DAYS):
        for history in histories:
            history.day(day)
            yield from rows.drain_if_full()
        chain.write_until(day + 1)
        if (day + 1) % PROGRESS_DAYS == 0:
            log.info("history: day %d of %d, %d audit events", day + 1, HISTORY_DAYS, chain.seq)
    chain.write_all()
    yield rows.drain()
