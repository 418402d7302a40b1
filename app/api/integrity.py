"""Committee routes of integrity and fairness: the ranked evidence, exports, decisions, DIF.

Flags are evidence for the committee; the only write here is a committee member's decision,
which is audited on the attempt's chain.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import Query, Response

from app.api.candidate import CandidateDep, ServicesDep
from app.api.responses import IdPath, error_doc
from app.api.transaction import ApiRouter
from app.deps import ClockDep, CommitteeUser, ReadSessionDep, SessionDep
from app.errors import Conflict
from app.schemas.integrity import (
    DecisionIn,
    DecisionOut,
    DIFReportOut,
    IntegrityReportOut,
    ViewsAck,
    ViewsIn,
)
from app.services import attempts, integrity
from exam_day import AttemptStatus

router = ApiRouter(prefix="/api/v1", tags=["integrity"])

SittingQuery = Annotated[int | None, Query(ge=1, description="one sitting only")]
RowLengthQuery = Annotated[
    int, Query(ge=1, le=200, description="seats per room row (seat numbers run row by row)")
]
LanguageQuery = Annotated[Literal["id", "en"], Query(description="language of the plots")]


@router.get(
    "/exams/{code}/integrity",
    response_model=IntegrityReportOut,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Committee: attempts ranked by integrity evidence, each flag with its reason",
)
def integrity_report(
    code: str,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
    sitting: SittingQuery = None,
    row_length: RowLengthQuery = integrity.DEFAULT_ROW_LENGTH,
    lang: LanguageQuery = "id",
) -> IntegrityReportOut:
    """Response-time, answer-change, neighbour-similarity, person-fit and audit evidence of the
    exam's (or one sitting's) finished attempts, strongest first, with the committee's standing
    decisions, an answer-time strip per flagged attempt, the room map and the comparability of
    sittings and sites."""
    found = integrity.integrity_report(
        session, code, sitting_id=sitting, row_length=row_length, language=lang
    )
    integrity.record_report_view(
        session, found, actor=principal.actor, now=clock.now(), export=None
    )
    return IntegrityReportOut.model_validate(found)


@router.get(
    "/exams/{code}/integrity/export",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {},
                "application/json": {"schema": {"$ref": "#/components/schemas/IntegrityReportOut"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        },
        **error_doc(401, 403, 404, 409, 422),
    },
    summary="Committee: the integrity report as CSV, XLSX or JSON (one row per flag)",
)
def integrity_export(
    code: str,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
    format: Annotated[Literal["csv", "xlsx", "json"], Query()] = "csv",
    sitting: SittingQuery = None,
    row_length: RowLengthQuery = integrity.DEFAULT_ROW_LENGTH,
) -> Response:
    """The flags of the report, one row per flag, with both languages' reasons."""
    found = integrity.integrity_report(session, code, sitting_id=sitting, row_length=row_length)
    integrity.record_report_view(
        session, found, actor=principal.actor, now=clock.now(), export=format
    )
    name = f"integrity-{code}" + (f"-sitting-{sitting}" if sitting else "")
    if format == "csv":
        body: bytes = integrity.export_csv(found).encode("utf-8")
        media = "text/csv; charset=utf-8"
    elif format == "xlsx":
        body = integrity.export_xlsx(found)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        out = IntegrityReportOut.model_validate(found)
        body = json.dumps(out.model_dump(mode="json"), ensure_ascii=False).encode("utf-8")
        media = "application/json"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


@router.post(
    "/attempts/{attempt_id}/integrity-decision",
    response_model=DecisionOut,
    responses=error_doc(401, 403, 404, 422),
    summary="Committee: record the decision on a flagged attempt (audited)",
)
def integrity_decision(
    attempt_id: IdPath,
    body: DecisionIn,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
) -> DecisionOut:
    """Cleared, referred, or disqualified by the committee, with the committee's reason; the
    newest decision stands and every one stays on the attempt's audit chain."""
    recorded = integrity.record_decision(
        session, attempt_id, body.decision, body.reason, actor=principal.actor, now=clock.now()
    )
    return DecisionOut.model_validate(recorded)


@router.post(
    "/attempts/current/views",
    response_model=ViewsAck,
    responses=error_doc(401, 404, 409, 422),
    summary="Candidate: items shown since the last save (sent by the heartbeat)",
)
def report_views(body: ViewsIn, claim: CandidateDep, svc: ServicesDep) -> ViewsAck:
    """Views normally ride on the next answer save; the screen's heartbeat sends the ones no
    save carried (a candidate reading without answering). Stamped with the server's time."""
    now = svc.clock.now()
    with svc.db.session() as session:
        attempt = attempts.attempt_for_claim(session, claim, lock=False)
        if attempt.status != AttemptStatus.IN_PROGRESS:
            msg = "the attempt is not in progress; its item views are closed"
            raise Conflict(msg)
        stored = integrity.record_views(session, attempt.id, body.views, now=now)
    return ViewsAck(stored=stored)


@router.get(
    "/exams/{code}/dif",
    response_model=DIFReportOut,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Committee: Mantel-Haenszel DIF (ETS A/B/C) by a roster group field",
)
def dif(
    code: str,
    _principal: CommitteeUser,
    session: ReadSessionDep,
    group: Annotated[Literal["region", "gender", "category"], Query()] = "region",
    reference: Annotated[str | None, Query(max_length=64)] = None,
) -> DIFReportOut:
    """Each item's MH delta (negative: harder for the focal group than for reference
    candidates of the same score) and ETS class, with purification of the matching score and
    the groups' sizes; flagged items link to the key-correction dry run."""
    found = integrity.dif_report(session, code, group, reference=reference)
    return DIFReportOut.model_validate(
        {
            "exam_code": found.exam_code,
            "group_field": found.group_field,
            "reference": found.reference,
            "group_sizes": found.group_sizes,
            "small_sample": list(found.small_sample),
            "items": found.items,
            "flagged": found.flagged,
        }
    )
