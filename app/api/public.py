"""Public routes (no login): rankings, slip verification and the live score board.

Nothing here carries a name, NIK or nomor peserta: candidates appear only by pseudonym.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.api.responses import IdPath, error_doc
from app.api.transaction import in_transaction
from app.deps import ReadSessionDep, SettingsDep
from app.errors import AppError, NotFound
from app.models.exam import ExamVersion
from app.models.sitting import Sitting
from app.repositories import exams as exam_repo
from app.repositories import results as result_repo
from app.services import live, rankings
from app.services.exams import spec_of
from app.services.results import verify_slip
from scoring.errors import ScoringError
from scoring.pseudonym import is_valid_pseudonym, normalize_pseudonym

router = APIRouter(prefix="/api/v1/public", tags=["public"])

HEARTBEAT_SECONDS = 15.0


@router.get(
    "/rankings/{exam}",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}, **error_doc(404, 422)},
    summary="Anyone: the published rankings of an exam, per formation",
)
@in_transaction
def public_rankings(
    exam: str,
    session: ReadSessionDep,
    q: Annotated[str | None, Query(max_length=40, description="find a pseudonym")] = None,
    formation: str | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    """Pseudonym, section scores, total, rank and status code (P/L, P, T/L, TH) of the newest
    snapshot of each formation, with its content hash, signature and changes from the one it
    superseded."""
    snapshots = result_repo.latest_snapshots(session, exam)
    if not snapshots:
        msg = f"no ranking of {exam!r} has been published"
        raise NotFound(msg)
    query = None
    if q:
        try:
            query = normalize_pseudonym(q)
        except ScoringError as exc:
            msg = f"q: {q!r} is not a pseudonym (11 letters and digits, e.g. K7QX3-M9TP2-R)"
            raise AppError(msg, code="malformed") from exc
        if not is_valid_pseudonym(query):
            msg = f"q: {q!r} fails its check character: a letter or digit was mistyped"
            raise AppError(msg, code="mistyped")
    # A final selection publishes under its own code: its columns are stages, not sections.
    exam_row = exam_repo.latest_published(session, exam)
    spec = spec_of(exam_row) if exam_row else None
    views = [
        rankings.snapshot_view(s, spec, query)
        for s in snapshots
        if formation is None or s.formation == formation
    ]
    section_codes = (
        spec.section_codes
        if spec
        else tuple(snapshots[0].rows[0]["sections"])
        if snapshots[0].rows
        else ()
    )
    if format == "csv":
        return Response(
            rankings.rows_csv(views, section_codes),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="ranking-{exam}.csv"'},
        )
    body = {
        "exam": {
            "code": exam,
            "title": exam_row.title if exam_row else exam,
            "version": exam_row.version if exam_row else None,
        },
        "sections": [{"code": s.code, "name": s.name} for s in spec.sections]
        if spec
        else [{"code": c, "name": c} for c in section_codes],
        "query": query,
        "formations": views,
    }
    return JSONResponse(json.loads(json.dumps(body, default=str)))


@router.get("/slips/{code}", responses=error_doc(404), summary="Anyone: verify a result slip")
@in_transaction
def verify(code: str, request: Request, session: ReadSessionDep) -> dict[str, Any]:
    """``authentic`` is true only when the code was issued by this server for exactly the
    scores on file; an altered or forged slip is rejected (the valid scores, if any, shown)."""
    check = verify_slip(session, request.app.state.secret, code)
    slip = None
    if check.result is not None:
        result = check.result
        exam = session.get(ExamVersion, result.exam_id)
        spec = spec_of(exam) if exam else None
        slip = {
            "exam": {"code": exam.code if exam else "", "title": exam.title if exam else ""},
            "pseudonym": result.pseudonym,
            "sections": [
                {
                    "code": s.code,
                    "name": s.name,
                    "score": result.section_scores.get(s.code),
                    "max": s.max_score,
                }
                for s in (spec.sections if spec else ())
            ],
            "total": result.total,
            "max_total": spec.max_total if spec else None,
            "passed": result.passed,
            "rules": result.rules,
            "computed_at": result.computed_at,
        }
    if check.result is None and not check.authentic:
        return {"authentic": False, "reason": check.reason, "reason_code": check.code, "slip": None}
    return {
        "authentic": check.authentic,
        "reason": check.reason,
        "reason_code": check.code,
        "slip": slip,
    }


@router.get(
    "/slips/{code}/qr.svg",
    responses={200: {"content": {"image/svg+xml": {}}}},
    summary="Anyone: the QR code printed on a slip (links to its verification page)",
)
def slip_qr(code: str, settings: SettingsDep) -> Response:
    """An SVG QR code of ``<public base URL>/verify/<code>``."""
    safe = "".join(c for c in code.upper() if c.isalnum() or c == "-")[:64]
    image = qrcode.make(
        f"{settings.public_base_url.rstrip('/')}/verify/{safe}",
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
    )
    out = io.BytesIO()
    image.save(out)
    return Response(
        out.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get(
    "/live/{sitting_id}/board",
    responses=error_doc(404),
    summary="Anyone: the live board so far (JSON)",
)
@in_transaction
def live_board(sitting_id: IdPath, session: ReadSessionDep, request: Request) -> dict[str, Any]:
    """Every finished candidate of the sitting by pseudonym, with section scores and total."""
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    exam = session.get(ExamVersion, sitting.exam_id)
    spec = spec_of(exam) if exam else None
    rows = [row for _i, row in live.read_board(request.app.state.db, sitting_id, None)]
    return {
        "sitting": {
            "id": sitting.id,
            "name": sitting.name,
            "site": sitting.site,
            "room": sitting.room,
            "status": sitting.status,
        },
        "exam": {"code": exam.code if exam else "", "title": exam.title if exam else ""},
        "sections": [{"code": s.code, "name": s.name, "max": s.max_score} for s in spec.sections]
        if spec
        else [],
        "rows": rows,
    }


@router.get(
    "/live/{sitting_id}",
    responses={200: {"content": {"text/event-stream": {}}}, **error_doc(404)},
    summary="Anyone: the live score board as server-sent events",
)
async def live_stream(sitting_id: IdPath, request: Request) -> StreamingResponse:
    """Events: ``board`` (everything so far) once, then ``result`` for each candidate who
    finishes, within about a second, whichever app process finished them."""
    services = request.app.state.services
    if not await run_in_threadpool(live.sitting_exists, services.db, sitting_id):
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)

    async def events() -> AsyncIterator[str]:
        async with services.live.subscribe(sitting_id) as (board, queue):
            yield f"event: board\ndata: {json.dumps(board)}\n\n"
            while True:
                if await request.is_disconnected():
                    return
                try:
                    rows = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                for row in rows:
                    yield f"event: result\ndata: {json.dumps(row)}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
