"""``GET /reports/monthly.xlsx?orgUnitId=…&month=YYYY-MM``: the monthly report as a workbook.

The figures come from ``resolvers.monthly_report.monthly_report``, the function that answers
``Query.monthlyReport``, with the same checks: 401 without a bearer token, 403 ``FORBIDDEN``
where the field's guard refuses, 404 ``NOT_FOUND`` for a unit unknown or outside the
viewer's sight, 400 ``VALIDATION`` for a missing argument or a bad month; each error is the
JSON a GraphQL client would read. The workbook holds a sheet per section (巡河, 任务, 投诉,
奖惩), a summary (汇总) with every figure, and the month's six-goods ranking (六好排名) of
the villages below the unit; figures are numbers, each section ends with its 合计 row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Font
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.route_context import signed_in_context
from core import telemetry
from core.errors import DomainError, ErrorCode
from policies.guard import FORBIDDEN, holds_anywhere, log_denial
from resolvers.assessment_ranking import AssessmentRanking, assessment_ranking
from resolvers.monthly_report import REPORT_RIGHTS, MonthlyReport, ReportRow, monthly_report
from schema.node import pk_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS = {ErrorCode.VALIDATION: 400, ErrorCode.FORBIDDEN: 403, ErrorCode.NOT_FOUND: 404}
TOTAL = "合计"

Column = tuple[str, Callable[[ReportRow], Any]]
PATROLS: Sequence[Column] = (
    ("巡河次数", lambda r: r.patrols),
    ("巡河任务数", lambda r: r.patrol_quota_tasks),
    ("巡河任务目标次数", lambda r: r.patrol_quota_target),
    ("计入任务巡河次数", lambda r: r.patrol_quota_done),
    ("完成巡河任务数", lambda r: r.patrol_quotas_met),
)
TASKS: Sequence[Column] = (
    ("办结任务", lambda r: r.tasks_closed),
    ("逾期任务", lambda r: r.tasks_overdue),
)
COMPLAINTS: Sequence[Column] = (
    ("受理投诉", lambda r: r.complaints_received),
    ("办结投诉", lambda r: r.complaints_closed),
    ("按期办结投诉", lambda r: r.complaints_closed_in_time),
)
JUDGEMENTS: Sequence[Column] = (
    ("奖励", lambda r: r.rewards),
    ("奖励金额（元）", lambda r: float(r.reward_amount_yuan)),
    ("处罚", lambda r: r.penalties),
    ("处罚金额（元）", lambda r: float(r.penalty_amount_yuan)),
)
SECTIONS: Sequence[tuple[str, Sequence[Column]]] = (
    ("汇总", (*PATROLS, *TASKS, *COMPLAINTS, *JUDGEMENTS)),
    ("巡河", PATROLS),
    ("任务", TASKS),
    ("投诉", COMPLAINTS),
    ("奖惩", JUDGEMENTS),
)
RANKING = "六好排名"


def _error(code: str, message: str, status: int) -> JSONResponse:
    telemetry.error(code)
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status)


def workbook(report: MonthlyReport, ranking: AssessmentRanking) -> bytes:
    """The report's sheets and the ranking's, as XLSX bytes."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    for title, columns in SECTIONS:
        sheet = book.create_sheet(title)
        sheet.append(["单位", "单位代码", *(name for name, _ in columns)])
        for row in report.rows:
            assert row.unit is not None
            sheet.append([row.unit.name, row.unit.code, *(value(row) for _, value in columns)])
        sheet.append([TOTAL, None, *(value(report.totals) for _, value in columns)])
        for cell in (*sheet[1], *sheet[sheet.max_row]):
            cell.font = bold
        sheet.column_dimensions["A"].width = 24
    sheet = book.create_sheet(RANKING)
    sheet.append(["名次", "村", "单位代码", "得分", "满分", "考评明细"])
    for village in ranking.villages:
        breakdown = "；".join(f"{c.name} {c.awarded}/{c.max}" for c in village.criteria)
        sheet.append(
            [
                village.rank,
                village.unit.name,
                village.unit.code,
                float(village.score),
                float(village.max_score),
                breakdown,
            ]
        )
    for cell in sheet[1]:
        cell.font = bold
    out = BytesIO()
    book.properties.title = f"{report.unit.name}{report.month.text}河长制工作月报"
    book.save(out)
    return out.getvalue()


def disposition(report: MonthlyReport) -> str:
    """An ASCII filename with the unit code and month, and the Chinese one (RFC 5987)."""
    code = re.sub(r"[^A-Za-z0-9_-]", "_", report.unit.code) or "unit"
    ascii_name = f"monthly-report-{code}-{report.month.text}.xlsx"
    name = f"{report.unit.name}{report.month.text}月报-{report.unit.code}.xlsx"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


async def monthly_xlsx(request: Request) -> Response:
    context = signed_in_context(request)
    if isinstance(context, Response):
        return context
    if not holds_anywhere(context, *REPORT_RIGHTS):  # the field's guard
        log_denial(context, REPORT_RIGHTS[0], "*")
        return _error(FORBIDDEN, "You may not read task.", 403)
    unit_id, month = request.query_params.get("orgUnitId"), request.query_params.get("month")
    if not unit_id or not month:
        return _error(
            ErrorCode.VALIDATION.value, "orgUnitId and month (YYYY-MM) are required.", 400
        )
    try:
        report = await monthly_report(context, pk_of(unit_id, "OrgUnit"), month)
        ranking = await assessment_ranking(context, report.unit.id, report.month.text)
    except DomainError as error:
        return _error(error.code.value, error.message, STATUS.get(error.code, 400))
    return Response(
        workbook(report, ranking),
        media_type=XLSX,
        headers={
            "content-disposition": disposition(report),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        },
    )
