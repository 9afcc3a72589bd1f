"""Accountability records, each with the ``record.create`` event the service writes for it.

Details take the shapes of ``resolvers/records.py`` and the demo data: a patrol's distance,
duration, findings and photos; a clean-up's participants and garbage; an assessment's
criteria. A few patrols are implausible and flagged with the service's own reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random
from typing import Any, Final

from tortoise.fields.data import JSON_DUMPS

from bench import data_text as text
from bench.data_audit import Chain
from bench.data_clock import BASE_US, DAY, HOUR, MINUTE, at, day_start, daytime
from bench.data_tables import RECORD, Rows
from bench.data_tree import County, Ids, Unit
from models.enums import OrgLevel, RecordType
from models.record_shown import shown_details

LAST_RECORD: Final = BASE_US - HOUR  # records describe the past
TOO_FAST: Final = "distance impossible in the time given"
TOO_LONG: Final = "duration longer than a day's patrol"
CORRECTED_SHARE: Final = 0.005
ESCALATION_STEP: Final = 250  # µs between an escalation's writes, in one transaction
# Records made without a task, by type: routine patrols and clean-ups, pledges, assessments…
UNLINKED: Final = (
    (RecordType.PATROL, 0.40),
    (RecordType.CLEANUP, 0.23),
    (RecordType.PLEDGE, 0.08),
    (RecordType.ASSESSMENT, 0.07),
    (RecordType.REWARD, 0.05),
    (RecordType.PENALTY, 0.03),
    (RecordType.INSPECTION_FINDING, 0.14),
)


@dataclass(frozen=True)
class Written:
    id: int
    created: int


class RecordMaker:
    """Makes one county's records, at most ``budget`` of them."""

    def __init__(
        self, rng: Random, county: County, ids: Ids, rows: Rows, chain: Chain, budget: int
    ) -> None:
        self.rng = rng
        self.county = county
        self.ids = ids
        self.rows = rows
        self.chain = chain
        self.budget = budget
        self.made = 0
        self._types = [t for t, _ in UNLINKED]
        self._weights = [w for _, w in UNLINKED]

    @property
    def left(self) -> int:
        return self.budget - self.made

    # -- records that fulfil a task ----------------------------------------------------------

    def for_task(
        self, type_: RecordType, unit: Unit, task_id: int, start: int, end: int, count: int
    ) -> None:
        """``count`` patrols or clean-ups by the unit's head between ``start`` and ``end``."""
        end = min(end, LAST_RECORD - 6 * HOUR)
        if end <= start:
            return
        moments = []
        for _ in range(count):
            moment = self.rng.randrange(start, end)
            by_day = daytime(moment, self.rng)  # in working hours, if the window allows
            moments.append(by_day if start <= by_day < end else moment)
        for moment in sorted(moments):
            self.work(type_, unit, moment, task_id)

    def finding(self, unit: Unit, moment: int, task_id: int | None) -> None:
        """An inspector's finding at ``unit``, about a task or not."""
        if self.left <= 0:
            return
        inspector, person = self.rng.choice(self.county.inspectors)
        details = {
            "severity": self.rng.choice(text.SEVERITIES),
            "rectify_within_days": self.rng.choice((7, 15, 30)),
            "evidence": self.rng.sample(text.EVIDENCE, self.rng.randrange(1, 3)),
        }
        summary = f"{unit.name}：{self.rng.choice(text.FINDINGS)}，限期整改"
        self._write(
            RecordType.INSPECTION_FINDING,
            unit,
            (inspector, self.county.unit),
            person,
            task_id,
            moment,
            None,
            summary,
            details,
        )

    def escalation(
        self,
        unit: Unit,
        issuer: Unit,
        task_id: int,
        moment: int,
        details: dict[str, Any],
        note: str,
        request_id: str,
    ) -> int:
        """An escalation record (``resolvers/escalation.py``): the caller writes its events."""
        record_id = self.ids.take("record")
        self.made += 1
        self.rows.add(
            RECORD,
            (
                record_id,
                RecordType.ESCALATION.value,
                unit.id,
                issuer.head_user,
                issuer.id,  # filed under the issuer head's grant: task:update there
                issuer.head_person,
                task_id,
                None,
                None,
                at(moment),
                None,
                note,
                JSON_DUMPS(details),
                JSON_DUMPS(shown_details(details)),
                False,
                "",
                at(moment),
            ),
        )
        self.chain.add(
            moment + ESCALATION_STEP,
            "record.create",
            "record",
            record_id,
            issuer.head_user,
            unit.path,
            after={
                "type": RecordType.ESCALATION.value,
                "task_id": task_id,
                "authority": issuer.path,
            },
            request_id=request_id,
        )
        return record_id

    # -- records of a day, without a task ----------------------------------------------------

    def day(self, day: int, count: int) -> None:
        for _ in range(min(count, self.left)):
            moment = day_start(day) + self.rng.randrange(10 * HOUR)  # 08:00-18:00 Beijing
            type_ = self.rng.choices(self._types, self._weights)[0]
            if type_ in (RecordType.PATROL, RecordType.CLEANUP):
                self.work(type_, self._field_unit(), moment, None)
            elif type_ is RecordType.INSPECTION_FINDING:
                self.finding(self._any_unit(), moment, None)
            else:
                self._judgement(type_, moment)

    # -- the kinds of record -----------------------------------------------------------------

    def work(self, type_: RecordType, unit: Unit, moment: int, task_id: int | None) -> None:
        """A patrol or a clean-up by the unit's head; now and then corrected later."""
        if self.left <= 0:
            return
        if type_ is RecordType.PATROL:
            details, ended, reason = self._patrol(unit)
            summary = f"{unit.name}巡河"
        else:
            details, ended, reason = self._cleanup(unit), None, ""
            summary = f"{unit.name}{self.rng.choice(('周五清河', '河道保洁', '“1110”日保洁'))}"
        ended_at = moment + ended if ended is not None else None
        written = self._write(
            type_,
            unit,
            (unit.head_user, unit),
            unit.head_person,
            task_id,
            moment,
            ended_at,
            summary,
            details,
            reason,
        )
        if self.rng.random() < CORRECTED_SHARE and self.left > 0:
            fixed = dict(details)
            key = "distance_km" if type_ is RecordType.PATROL else "garbage_kg"
            fixed[key] = round(details[key] / 10, 1)
            self._write(
                type_,
                unit,
                (unit.head_user, unit),
                unit.head_person,
                task_id,
                moment,
                ended_at,
                f"更正：{summary}，{key}误录一位",
                fixed,
                "",
                corrects=written,
            )

    def _patrol(self, unit: Unit) -> tuple[dict[str, Any], int, str]:
        rng = self.rng
        minutes = rng.randrange(40, 240)
        speed, reason = rng.uniform(1.5, 4.5), ""
        odd = rng.random()
        if odd < 0.003:
            minutes, speed, reason = (
                rng.randrange(17 * 60, 20 * 60),
                rng.uniform(0.5, 1.0),
                TOO_LONG,
            )
        elif odd < 0.02:
            speed, reason = rng.uniform(14, 30), TOO_FAST
        water = self.county.water_names.get(unit.water_body or 0, unit.name)
        start, end = rng.sample(text.LANDMARKS, 2)
        findings = rng.sample(text.FINDINGS, rng.randrange(1, 3)) if rng.random() < 0.4 else []
        details = {
            "segment": water,
            "start": f"{unit.name}{start}",
            "end": f"{unit.name}{end}",
            "duration_min": minutes,
            "distance_km": round(speed * minutes / 60, 1),
            "findings": findings,
            "photos": [f"patrol/{self.ids.record}-{k}.jpg" for k in range(rng.randrange(4))],
        }
        return details, minutes * MINUTE, reason

    def _cleanup(self, unit: Unit) -> dict[str, Any]:
        rng = self.rng
        large = unit.level is not OrgLevel.GRID
        party = rng.randrange(5, 50) if large else rng.randrange(1, 8)
        villagers = rng.randrange(10, 80) if large else rng.randrange(2, 12)
        return {
            "participants": party + villagers,
            "party_members": party,
            "villagers": villagers,
            "garbage_kg": rng.randrange(100, 2500) if large else rng.randrange(10, 300),
        }

    def _judgement(self, type_: RecordType, moment: int) -> None:
        """A pledge by the unit's head; an assessment, reward or penalty by the head of the
        level above, under its grant there (judgements go strictly downward)."""
        rng = self.rng
        if type_ is RecordType.ASSESSMENT and rng.random() < 0.3:
            unit = rng.choice(self.county.townships)
        elif type_ is RecordType.ASSESSMENT:
            unit = rng.choice(self.county.villages)
        else:
            unit = self._field_unit()
        above = unit.parent or unit
        author, person = (above.head_user, above), above.head_person
        details: dict[str, Any]
        if type_ is RecordType.PLEDGE:
            author, person = (unit.head_user, unit), unit.head_person
            pledge = rng.choice(text.PLEDGES)
            details = {"pledge": pledge, "signed": rng.randrange(3, 60)}
            summary = f"{unit.name}党员签订{pledge}"
        elif type_ is RecordType.ASSESSMENT:
            six = unit.level is OrgLevel.VILLAGE and rng.random() < 0.5
            scheme = text.SIX_GOODS if six else text.YEARLY_CRITERIA
            awarded = [rng.randrange(top // 2, top + 1) for _, top in scheme]
            criteria = [
                {"name": name, "max": top, "awarded": score}
                for (name, top), score in zip(scheme, awarded, strict=True)
            ]
            total = sum(awarded)
            details = {
                "scheme": "six_goods" if six else "河长制年度考核",
                "criteria": criteria,
                "total": total,
                "max_total": sum(top for _, top in scheme),
            }
            summary = f"{unit.name}{'“六个好”' if six else '年度'}考评：{total} 分"
        elif type_ is RecordType.REWARD:
            award = rng.choice(text.AWARDS)
            details = {"award": award, "measure": "通报表扬", "amount": rng.randrange(5, 50) * 100}
            summary = f"{unit.name}获评{award}"
        else:
            measure = rng.choice(text.PENALTY_MEASURES)
            details = {"measure": measure, "basis": rng.choice(text.PENALTY_BASES)}
            summary = f"{unit.name}{measure}"
        self._write(type_, unit, author, person, None, moment, None, summary, details)

    def _field_unit(self) -> Unit:
        """Where patrols and clean-ups happen: mostly grids, sometimes a whole village."""
        if self.rng.random() < 0.8:
            return self.rng.choice(self.county.grids)
        return self.rng.choice(self.county.villages)

    def _any_unit(self) -> Unit:
        draw = self.rng.random()
        if draw < 0.6:
            return self.rng.choice(self.county.grids)
        if draw < 0.9:
            return self.rng.choice(self.county.villages)
        return self.rng.choice(self.county.townships)

    def _write(
        self,
        type_: RecordType,
        unit: Unit,
        author: tuple[int, Unit],  # the account, and the unit of its grant that allows it
        person: int,
        task_id: int | None,
        moment: int,
        ended: int | None,
        summary: str,
        details: dict[str, Any],
        reason: str = "",
        corrects: Written | None = None,
    ) -> Written:
        record_id = self.ids.take("record")
        self.made += 1
        done = corrects.created if corrects is not None else (ended or moment)
        lag = (HOUR, 3 * DAY) if corrects is not None else (5 * MINUTE, 4 * HOUR)
        created = done + self.rng.randrange(*lag)  # entered after the work, or the mistake
        if created >= LAST_RECORD:
            created = self.rng.randrange(done + 1, max(done + 2, LAST_RECORD))
        self.rows.add(
            RECORD,
            (
                record_id,
                type_.value,
                unit.id,
                author[0],
                author[1].id,
                person,
                task_id,
                unit.water_body if type_ in (RecordType.PATROL, RecordType.CLEANUP) else None,
                corrects.id if corrects else None,
                at(moment),
                None if ended is None else at(ended),
                summary,
                JSON_DUMPS(details),
                JSON_DUMPS(shown_details(details)),
                bool(reason),
                reason,
                at(created),
            ),
        )
        self.chain.add(
            created,
            "record.create",
            "record",
            record_id,
            author[0],
            unit.path,
            after={
                "type": type_.value,
                "unit": unit.path,
                "authority": author[1].path,
                "flagged": reason or None,
                "corrects": corrects.id if corrects else None,
                "task_id": task_id,
            },
            request_id=f"{self.rng.getrandbits(128):032x}",
        )
        return Written(record_id, created)
