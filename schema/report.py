"""The monthly report and the six-goods ranking (``resolvers.monthly_report``,
``resolvers.assessment_ranking``); ``GET /reports/monthly.xlsx`` answers from the same
functions."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers.assessment_ranking import AssessmentRanking as Ranking
from resolvers.assessment_ranking import RankedVillage as Ranked
from resolvers.monthly_report import MonthlyReport as Report
from resolvers.monthly_report import ReportRow
from schema.org import OrgUnit


@strawberry.type(
    description="One child unit's month (or, as `totals`, the rows added up). Each figure "
    "counts what is held in the child's subtree and readable by you."
)
class MonthlyReportRow:
    org_unit: OrgUnit | None = strawberry.field(
        description="The child unit; null on the totals row."
    )
    patrols: int = strawberry.field(
        description="Patrols that occurred in the month: unflagged, current versions."
    )
    patrol_quota_tasks: int = strawberry.field(
        description="Patrol quota tasks held in the subtree, not cancelled, whose quota period "
        "overlaps the month."
    )
    patrol_quota_target: int = strawberry.field(
        description="The sum of those tasks' quota targets (over their whole periods)."
    )
    patrol_quota_done: int = strawberry.field(
        description="The patrols counted towards those tasks over their whole periods, as "
        "`Task.quota` counts them."
    )
    patrol_quotas_met: int = strawberry.field(
        description="How many of those tasks have their quota met."
    )
    tasks_closed: int = strawberry.field(description="Tasks verified (销号) in the month.")
    tasks_overdue: int = strawberry.field(
        description="Tasks due before the month's end (now, for the current month) and not "
        "closed by then."
    )
    complaints_received: int = strawberry.field(
        description="Tasks of origin COMPLAINT created in the month."
    )
    complaints_closed: int = strawberry.field(
        description="Tasks of origin COMPLAINT verified in the month."
    )
    complaints_closed_in_time: int = strawberry.field(
        description="Of those, the ones verified no later than their due date."
    )
    rewards: int = strawberry.field(description="REWARD records that occurred in the month.")
    reward_amount_yuan: float = strawberry.field(
        description="The sum of their `amount_yuan` details, in yuan."
    )
    penalties: int = strawberry.field(description="PENALTY records that occurred in the month.")
    penalty_amount_yuan: float = strawberry.field(
        description="The sum of their `amount_yuan` details, in yuan."
    )

    @classmethod
    def of(cls, row: ReportRow) -> MonthlyReportRow:
        return cls(
            org_unit=OrgUnit.of(row.unit) if row.unit is not None else None,
            patrols=row.patrols,
            patrol_quota_tasks=row.patrol_quota_tasks,
            patrol_quota_target=row.patrol_quota_target,
            patrol_quota_done=row.patrol_quota_done,
            patrol_quotas_met=row.patrol_quotas_met,
            tasks_closed=row.tasks_closed,
            tasks_overdue=row.tasks_overdue,
            complaints_received=row.complaints_received,
            complaints_closed=row.complaints_closed,
            complaints_closed_in_time=row.complaints_closed_in_time,
            rewards=row.rewards,
            reward_amount_yuan=float(row.reward_amount_yuan),
            penalties=row.penalties,
            penalty_amount_yuan=float(row.penalty_amount_yuan),
        )


@strawberry.type(
    description="A unit's month (月报), by child unit: patrols against quotas, tasks closed and "
    "overdue, complaints handled, rewards and penalties. Months are China Standard Time."
)
class MonthlyReport:
    org_unit: OrgUnit = strawberry.field(description="The unit reported on.")
    month: str = strawberry.field(description="The month, `YYYY-MM`.")
    until: datetime = strawberry.field(
        description="The moment counted up to: the month's end, or now for the current month."
    )
    rows: list[MonthlyReportRow] = strawberry.field(
        description="One row per child unit you may read, in path order."
    )
    totals: MonthlyReportRow = strawberry.field(description="The rows added up.")

    @classmethod
    def of(cls, report: Report) -> MonthlyReport:
        return cls(
            org_unit=OrgUnit.of(report.unit),
            month=report.month.text,
            until=report.until,
            rows=[MonthlyReportRow.of(row) for row in report.rows],
            totals=MonthlyReportRow.of(report.totals),
        )


@strawberry.type(description="One criterion of an assessment, e.g. 硬件设施好.")
class AssessmentCriterion:
    name: str = strawberry.field(description="The criterion's name.")
    max: float = strawberry.field(description="The most points it gives.")
    awarded: float = strawberry.field(description="The points awarded.")


@strawberry.type(description="A village's place in a six-goods ranking.")
class RankedVillage:
    rank: int = strawberry.field(description="1 for the highest score; every village its own.")
    org_unit: OrgUnit = strawberry.field(description="The village.")
    score: float = strawberry.field(description="The points awarded, over every criterion.")
    max_score: float = strawberry.field(description="The most points the criteria give.")
    assessed_at: datetime = strawberry.field(description="When the assessment counted was made.")
    criteria: list[AssessmentCriterion] = strawberry.field(
        description="The breakdown, criterion by criterion."
    )

    @classmethod
    def of(cls, ranked: Ranked) -> RankedVillage:
        return cls(
            rank=ranked.rank,
            org_unit=OrgUnit.of(ranked.unit),
            score=float(ranked.score),
            max_score=float(ranked.max_score),
            assessed_at=ranked.assessed_at,
            criteria=[
                AssessmentCriterion(name=c.name, max=float(c.max), awarded=float(c.awarded))
                for c in ranked.criteria
            ],
        )


@strawberry.type(
    description="The villages below a unit ranked by their six-goods (六个好) assessment in a "
    "period: highest score first; ties to the higher share of the maximum, then the unit code."
)
class AssessmentRanking:
    org_unit: OrgUnit = strawberry.field(description="The unit whose villages are ranked.")
    period: str = strawberry.field(description="The period as asked: YYYY, YYYY-Qn or YYYY-MM.")
    villages: list[RankedVillage] = strawberry.field(
        description="The villages you may read with an assessment in the period, by rank."
    )

    @classmethod
    def of(cls, ranking: Ranking) -> AssessmentRanking:
        return cls(
            org_unit=OrgUnit.of(ranking.unit),
            period=ranking.period.text,
            villages=[RankedVillage.of(v) for v in ranking.villages],
        )
