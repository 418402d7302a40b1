"""Public routes (no login): rankings, slip verification and the live score board.

Nothing here carries a name, NIK or nomor peserta: candidates appear only by pseudonym.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

import qrcode
import qrcode.image.svg
from fastapi import Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.api.responses import IdPath, error_doc
from app.api.transaction import ApiRouter
from app.deps import ReadSessionDep, SettingsDep
from app.errors import NotFound
from app.keys import KeyStore
from app.schemas.public import LiveBoardOut, RankingPageOut, SlipVerificationOut
from app.services import audit, live
from app.services import public as public_service
from app.services import results as results_service

router = ApiRouter(prefix="/api/v1/public", tags=["public"])

HEARTBEAT_SECONDS = 15.0


@router.get(
    "/rankings/{exam}",
    response_model=RankingPageOut,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}, **error_doc(404, 422)},
    summary="Anyone: the published rankings of an exam, per formation",
)
def public_rankings(
    exam: str,
    session: ReadSessionDep,
    q: Annotated[str | None, Query(max_length=40, description="find a pseudonym")] = None,
    formation: str | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> RankingPageOut | Response:
    """Pseudonym, section scores, total, rank and status code (P/L, P, T/L, TH) of the newest
    snapshot of each formation, with its content hash, signature and changes from the one it
    superseded."""
    page = public_service.ranking_page(session, exam, q=q, formation=formation)
    if format == "csv":
        return Response(
            page.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="ranking-{exam}.csv"'},
        )
    return RankingPageOut.model_validate(page)


@router.get(
    "/slips/{code}",
    response_model=SlipVerificationOut,
    responses=error_doc(404),
    summary="Anyone: verify a result slip",
)
def verify(code: str, request: Request, session: ReadSessionDep) -> SlipVerificationOut:
    """``authentic`` is true only when the code was issued by this server for exactly the
    scores on file; an altered or forged slip is rejected (the valid scores, if any, shown)."""
    checked = public_service.slip_verification(session, request.app.state.secret, code)
    return SlipVerificationOut.model_validate(checked)


class PublicKeyOut(BaseModel):
    """One Ed25519 public key and the period it signed documents in (no end: the current one)."""

    key_id: str
    algorithm: str
    public_key: str
    valid_from: datetime
    valid_until: datetime | None


class PublicKeysOut(BaseModel):
    """Every key that ever signed a slip, ranking snapshot or audit anchor, oldest first."""

    keys: list[PublicKeyOut]


class SignatureOut(BaseModel):
    """Which key signed a document, and the signature over its ``payload`` text."""

    algorithm: str
    key_id: str
    value: str


class SignedDocumentOut(BaseModel):
    """A signed document: the exact signed JSON text and its Ed25519 signature."""

    payload: str
    signature: SignatureOut


@router.get(
    "/keys",
    response_model=PublicKeysOut,
    summary="Anyone: the Ed25519 public keys that sign slips, rankings and audit anchors",
)
def public_keys(settings: SettingsDep) -> PublicKeysOut:
    """Key id, base64url raw public key and validity period of every signing key; a document
    names its key id, so one signed before a rotation still verifies offline."""
    keys = KeyStore(settings.var_dir).public_keys()
    return PublicKeysOut.model_validate({"keys": [k.as_json() for k in keys]})


@router.get(
    "/slips/{code}/signed",
    response_model=SignedDocumentOut,
    responses=error_doc(404),
    summary="Anyone: the Ed25519-signed document of an authentic slip (to check offline)",
)
def signed_slip(
    code: str, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> SignedDocumentOut:
    """The slip's pseudonym, scores and printed code, signed; ``ujian verify`` or the
    /verify page check it with the public keys alone. Only an authentic code has one."""
    document = results_service.signed_slip_for_code(
        session,
        KeyStore(settings.var_dir),
        request.app.state.secret,
        code,
        request.app.state.clock.now(),
    )
    return SignedDocumentOut.model_validate(document)


@router.get(
    "/rankings/{exam}/signed",
    response_model=list[SignedDocumentOut],
    responses=error_doc(404),
    summary="Anyone: the Ed25519-signed documents of an exam's published ranking snapshots",
)
def signed_rankings(exam: str, session: ReadSessionDep) -> list[SignedDocumentOut]:
    """Every published snapshot (oldest first) as signed when published: its rows, content
    hash and the head of every audit chain at that moment, checkable offline."""
    documents = audit.signed_documents(session, f"ranking:{exam}:")
    if not documents:
        msg = f"no ranking of {exam!r} has been published"
        raise NotFound(msg)
    return [SignedDocumentOut.model_validate(d) for d in documents]


@router.get(
    "/slips/{code}/qr.svg",
    response_class=Response,
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
    response_model=LiveBoardOut,
    responses=error_doc(404),
    summary="Anyone: the live board so far (JSON)",
)
def live_board(sitting_id: IdPath, session: ReadSessionDep) -> LiveBoardOut:
    """Every finished candidate of the sitting by pseudonym, with section scores and total."""
    return LiveBoardOut.model_validate(public_service.live_board(session, sitting_id))


@router.get(
    "/live/{sitting_id}",
    response_class=StreamingResponse,
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
            rows = [row.as_json() for row in board]
            yield f"event: board\ndata: {json.dumps(rows)}\n\n"
            while True:
                if await request.is_disconnected():
                    return
                try:
                    fresh = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                for row in fresh:
                    yield f"event: result\ndata: {json.dumps(row.as_json())}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
