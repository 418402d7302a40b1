"""Committee routes: define and publish exams, schedule sittings, register rosters, replay forms."""

from __future__ import annotations

from typing import Annotated, TypedDict

from fastapi import Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.api.responses import IdPath, error_doc
from app.api.transaction import ApiRouter
from app.deps import ClockDep, CommitteeUser, ReadSessionDep, SessionDep
from app.errors import AppError
from app.models.exam import ExamVersion
from app.models.sitting import Sitting
from app.reports.item_report import analysis_to_json, render_item_report_html
from app.schemas.corrections import (
    CalibrationIn,
    CombinedFormationOut,
    CombinedIn,
    CombinedPreview,
    CombinedPublication,
    CombinedPublishedOut,
    CombinedStageOut,
    CorrectionIn,
    RankingPublished,
    RankingRowOut,
)
from app.schemas.exams import ExamOut, PinOut, ProctorIn, RosterOut, SittingIn, SittingOut
from app.schemas.item_analysis import ItemAnalysisOut
from app.schemas.replay import ReplayOut
from app.schemas.verification import ResultsVerificationOut
from app.services import calibration as calibration_service
from app.services import combined as combined_service
from app.services import corrections as correction_service
from app.services import exams as exam_service
from app.services import item_analysis, verification
from app.services import rankings as ranking_service
from app.services import replay as replay_service
from app.services import roster as roster_service
from app.services.calibration import CalibrationRun, CalibrationSummary
from app.services.corrections import CorrectionReport

router = ApiRouter(prefix="/api/v1", tags=["committee"])

_SPEC_BODY: dict[str, object] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
        "description": "The exam spec (docs/exam-spec.md), as YAML or JSON",
    }
}
MAX_SPEC_BYTES = 1 * 2**20
#: The item report is self-contained: inline styles and SVG, nothing to fetch, nothing to run.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def exam_out(exam: ExamVersion, outcome: str | None = None, *, with_spec: bool = False) -> ExamOut:
    """The API view of an exam version."""
    return ExamOut(
        id=exam.id,
        code=exam.code,
        version=exam.version,
        title=exam.title,
        status=exam.status,
        spec_hash=exam.spec_hash,
        created_at=exam.created_at,
        published_at=exam.published_at,
        scoring_revision=exam.scoring_revision,
        outcome=outcome,
        spec=exam.spec if with_spec else None,
    )


def sitting_out(session: Session, sitting: Sitting) -> SittingOut:
    """The API view of a sitting."""
    exam = exam_service.exam_of(session, sitting)
    return SittingOut(
        id=sitting.id,
        exam_id=sitting.exam_id,
        exam=f"{exam.code} v{exam.version}" if exam else "",
        name=sitting.name,
        site=sitting.site,
        room=sitting.room,
        timezone=sitting.timezone,
        starts_at=sitting.starts_at,
        starts_local=exam_service.local_time(sitting.starts_at, sitting.timezone),
        status=sitting.status,
    )


async def _spec_body(request: Request) -> tuple[bytes, str]:
    body = await request.body()
    if len(body) > MAX_SPEC_BYTES:
        msg = "the spec is larger than 1 MiB"
        raise AppError(msg)
    content_type = request.headers.get("content-type", "")
    return body, ("request.json" if "json" in content_type else "request.yaml")


@router.post(
    "/exams",
    response_model=ExamOut,
    openapi_extra=_SPEC_BODY,
    responses=error_doc(401, 403, 413, 422),
    summary="Committee: define an exam (a draft version)",
)
def define(
    spec: Annotated[tuple[bytes, str], Depends(_spec_body)],
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
) -> ExamOut:
    """Validated with every located error at once. A published version is never changed: a
    changed spec becomes a new draft version."""
    body, filename = spec
    change = exam_service.define_exam(
        session, body, filename, actor=principal.actor, now=clock.now()
    )
    return exam_out(change.exam, change.outcome, with_spec=True)


@router.get(
    "/exams",
    response_model=list[ExamOut],
    responses=error_doc(401, 403),
    summary="Committee: exams (newest version of each)",
)
def list_exams(_principal: CommitteeUser, session: ReadSessionDep) -> list[ExamOut]:
    """Every exam's newest version."""
    return [exam_out(e) for e in exam_service.latest_exams(session)]


@router.get(
    "/exams/{code}",
    response_model=list[ExamOut],
    responses=error_doc(401, 403, 404),
    summary="Committee: every version of an exam",
)
def exam_versions(code: str, _principal: CommitteeUser, session: ReadSessionDep) -> list[ExamOut]:
    """Versions oldest first, with their specs."""
    return [exam_out(e, with_spec=True) for e in exam_service.exam_versions(session, code)]


@router.post(
    "/exams/{code}/publish",
    response_model=ExamOut,
    responses=error_doc(401, 403, 404, 409),
    summary="Committee: publish (freeze) the newest version",
)
def publish(code: str, principal: CommitteeUser, session: SessionDep, clock: ClockDep) -> ExamOut:
    """Refused with 409 ``BlueprintShortfall`` naming every section/topic/stratum the bank
    cannot fill (needed, available)."""
    return exam_out(
        exam_service.publish_exam(session, code, actor=principal.actor, now=clock.now())
    )


@router.post(
    "/sittings",
    response_model=SittingOut,
    responses=error_doc(401, 403, 409, 422),
    summary="Committee: schedule a sitting",
)
def create_sitting(
    body: SittingIn, principal: CommitteeUser, session: SessionDep, clock: ClockDep
) -> SittingOut:
    """Starts are stored in UTC and shown in the site's zone (WIB, WITA, WIT)."""
    sitting = exam_service.create_sitting(
        session,
        exam_code=body.exam,
        name=body.name,
        starts_at=body.starts_at,
        site=body.site,
        room=body.room,
        timezone=body.timezone,
        actor=principal.actor,
        now=clock.now(),
    )
    return sitting_out(session, sitting)


@router.get(
    "/sittings",
    response_model=list[SittingOut],
    responses=error_doc(401, 403),
    summary="Committee: every sitting",
)
def list_sittings(_principal: CommitteeUser, session: ReadSessionDep) -> list[SittingOut]:
    """Sittings by start time."""
    return [sitting_out(session, s) for s in exam_service.sittings(session)]


@router.post(
    "/sittings/{sitting_id}/roster",
    response_model=RosterOut,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Committee: register a roster CSV and issue one-time PINs",
)
def import_roster(
    sitting_id: IdPath,
    file: Annotated[
        UploadFile,
        File(
            description="CSV: nomor_peserta, name, category, formation"
            "[, extra_minutes, grade_average, birth_date]"
        ),
    ],
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
) -> RosterOut:
    """All rows or none; every row problem is reported. The PINs are in this response only."""
    data = file.file.read(20 * 2**20 + 1)
    if len(data) > 20 * 2**20:
        msg = "the roster is larger than 20 MiB"
        raise AppError(msg)
    issued = roster_service.import_roster(
        session,
        sitting_id,
        data,
        file.filename or "roster.csv",
        secret=request.app.state.secret,
        actor=principal.actor,
        now=clock.now(),
    )
    return RosterOut(
        registered=len(issued),
        pins=[
            PinOut(nomor_peserta=p.nomor_peserta, name=p.name, pin=p.pin, seat=p.slot + 1)
            for p in issued
        ],
    )


@router.post(
    "/sittings/{sitting_id}/proctors",
    status_code=204,
    responses=error_doc(401, 403, 404),
    summary="Committee: assign a proctor to a sitting",
)
def assign_proctor(
    sitting_id: IdPath,
    body: ProctorIn,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
) -> None:
    """Proctors run only the sittings they are assigned to."""
    exam_service.assign_proctor(
        session, sitting_id, body.username, actor=principal.actor, now=clock.now()
    )


@router.get(
    "/attempts/{attempt_id}/replay",
    response_model=ReplayOut,
    responses=error_doc(401, 403, 404, 409),
    summary="Committee: replay exactly what a candidate saw, with every answer change",
)
def replay(
    attempt_id: IdPath, principal: CommitteeUser, session: SessionDep, request: Request
) -> ReplayOut:
    """Redraws the form from its stored seed and the exam's frozen bank, checks it equals the
    form that was served, and lists the items in order with the answer history (for appeals).
    Refused (409) while the attempt is being sat; each view is recorded in the audit log."""
    services = request.app.state.services
    return ReplayOut.model_validate(
        replay_service.replay(
            session,
            attempt_id,
            runtimes=services.runtimes,
            viewer=principal.actor,
            now=services.clock.now(),
        )
    )


@router.post(
    "/exams/{code}/rankings",
    response_model=list[RankingPublished],
    responses=error_doc(401, 403, 404, 409),
    summary="Committee: publish the anonymized ranking snapshot(s)",
)
def publish_rankings(
    code: str,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
    formation: str | None = None,
) -> list[RankingPublished]:
    """One immutable, signed snapshot per formation (or only ``formation``); publishing
    unchanged rankings again adds nothing; a changed ranking supersedes the previous snapshot
    with a diff of who moved and why."""
    published = ranking_service.publish(
        session,
        code,
        secret=request.app.state.secret,
        actor=principal.actor,
        now=clock.now(),
        formation=formation,
    )
    return [
        RankingPublished(
            formation=p.formation,
            outcome=p.outcome,
            number=p.number,
            content_hash=p.content_hash,
            changes=p.changes,
        )
        for p in published
    ]


@router.post(
    "/exams/{code}/results/verify",
    response_model=ResultsVerificationOut,
    responses=error_doc(401, 403, 404),
    summary="Committee: recompute every stored result and list each one that differs",
)
def verify_results(
    code: str, _principal: CommitteeUser, session: SessionDep
) -> ResultsVerificationOut:
    """Every finished attempt of the newest published version recomputed from its answer
    history, its frozen form and the exam's current key (corrections included), compared with
    its stored result. Nothing is changed; publishing a ranking and applying a correction are
    refused while this lists a mismatch."""
    return ResultsVerificationOut.of(verification.verify(session, code))


def _correction(body: CorrectionIn) -> correction_service.CorrectionRequest:
    return correction_service.CorrectionRequest(
        item_code=body.item_code,
        kind=body.kind,
        key=body.key,
        points=tuple(body.points) if body.points is not None else None,
        mode=body.mode,
        reason=body.reason,
    )


@router.post(
    "/exams/{code}/corrections/dry-run",
    response_model=CorrectionReport,
    responses=error_doc(401, 403, 404, 422),
    summary="Committee: who would move if this key were corrected (nothing is changed)",
)
def correction_dry_run(
    code: str,
    body: CorrectionIn,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
    limit: Annotated[int, Query(ge=0, le=100_000, description="attempts listed")] = 1000,
) -> CorrectionReport:
    """Every affected attempt with old and new scores (the first ``limit`` listed; counts are
    exact), and every ranking change per formation."""
    plan = correction_service.correct(
        session,
        code,
        _correction(body),
        secret=request.app.state.secret,
        actor=principal.actor,
        now=clock.now(),
        apply=False,
    )
    return plan.report(limit=limit)


@router.post(
    "/exams/{code}/corrections",
    response_model=CorrectionReport,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Committee: apply a key correction or annulment, rescore and republish",
)
def correction_apply(
    code: str,
    body: CorrectionIn,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
) -> CorrectionReport:
    """One audited transaction: the correction, every affected result, and new ranking
    snapshots (with their diff) for every formation that had been published."""
    plan = correction_service.correct(
        session,
        code,
        _correction(body),
        secret=request.app.state.secret,
        actor=principal.actor,
        now=clock.now(),
        apply=True,
    )
    return plan.report()


@router.get(
    "/exams/{code}/item-analysis",
    response_model=ItemAnalysisOut,
    responses=error_doc(401, 403, 404, 409),
    summary="Committee: item statistics and review flags (JSON)",
)
def item_analysis_json(
    code: str, _principal: CommitteeUser, session: ReadSessionDep
) -> ItemAnalysisOut:
    """p-values, item-rest correlations, option analysis, reliability and flags of the newest
    published version, from its finished attempts."""
    _runtime, analysis = item_analysis.analyse_exam(session, code)
    return ItemAnalysisOut.model_validate(analysis_to_json(analysis))


@router.get(
    "/exams/{code}/item-report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **error_doc(401, 403, 404, 409)},
    summary="Committee: the item report as one self-contained HTML page",
)
def item_report_html(code: str, _principal: CommitteeUser, session: ReadSessionDep) -> HTMLResponse:
    """The same content as ``ujian report items``: tables, histograms with thresholds, the
    difficulty/discrimination scatter and option trace lines; each flagged item links to its
    key-correction dry run."""
    runtime, analysis = item_analysis.analyse_exam(session, code)
    page = render_item_report_html(
        analysis,
        f"{runtime.title} ({runtime.code} v{runtime.version})",
        correction_url=item_analysis.correction_link(code),
        dif=item_analysis.dif_reports(session, code),
    )
    return HTMLResponse(
        page,
        headers={"Content-Security-Policy": REPORT_CSP},
    )


@router.post(
    "/exams/{code}/calibrations",
    response_model=CalibrationRun,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Committee: calibrate the exam's items (IRT) from its finished attempts",
)
def run_calibration(
    code: str,
    body: CalibrationIn,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
) -> CalibrationRun:
    """Marginal maximum likelihood (Rasch, 1PL, 2PL or 3PL); stored with its settings and
    data size. With ``apply`` the item versions take the new parameters (published exams keep
    the ones they froze)."""
    record = calibration_service.calibrate_exam(
        session, code, model=body.model, apply=body.apply, actor=principal.actor, now=clock.now()
    )
    return calibration_service.calibration_run(record)


@router.get(
    "/exams/{code}/calibrations",
    response_model=list[CalibrationSummary],
    responses=error_doc(401, 403, 404),
    summary="Committee: calibrations run on an exam",
)
def list_calibrations(
    code: str, _principal: CommitteeUser, session: ReadSessionDep
) -> list[CalibrationSummary]:
    """Newest first, with convergence and fit counts."""
    return [
        calibration_service.calibration_summary(c)
        for c in calibration_service.calibrations_of(session, code)
    ]


@router.post(
    "/rankings/combined",
    response_model=CombinedPublication | CombinedPreview,
    responses=error_doc(401, 403, 404, 409, 422),
    summary="Committee: the final ranking from several stages (e.g. SKD 40 % + SKB 60 %)",
)
def combined_ranking(
    body: CombinedIn,
    principal: CommitteeUser,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
) -> CombinedPublication | CombinedPreview:
    """Each candidate of the last stage scores ``sum(total / max x weight)``; ties break by
    the first stage's total and sections, then the last stage's final tie-breaks (grade
    average, older first). With ``publish`` the rankings are published under ``code``."""
    stages = [combined_service.StageIn(s.exam, s.weight, s.label) for s in body.stages]
    if body.publish:
        summary, published = combined_service.publish_combined(
            session,
            body.code,
            stages,
            secret=request.app.state.secret,
            actor=principal.actor,
            now=clock.now(),
            tie_breaks=body.tie_breaks,
        )
        return CombinedPublication(
            **_combined_head(summary),
            published=[
                CombinedPublishedOut(formation=p.formation, outcome=p.outcome, number=p.number)
                for p in published
            ],
        )
    summary, formations = combined_service.combine(
        session, body.code, stages, secret=request.app.state.secret, tie_breaks=body.tie_breaks
    )
    return CombinedPreview(
        **_combined_head(summary),
        formations=[
            CombinedFormationOut(
                formation=f.formation.code,
                rows=[RankingRowOut.model_validate(r) for r in f.rows],
            )
            for f in formations
        ],
    )


class _CombinedHead(TypedDict):
    code: str
    stages: list[CombinedStageOut]
    tie_breaks: list[str]


def _combined_head(summary: combined_service.CombinedSummary) -> _CombinedHead:
    return _CombinedHead(
        code=summary.code,
        stages=[
            CombinedStageOut(exam=s.exam, label=s.label, weight=s.weight) for s in summary.stages
        ],
        tie_breaks=list(summary.tie_breaks),
    )
