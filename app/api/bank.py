"""Admin routes of the item bank: import files, search items, retire/activate, sections, media."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from app.api.responses import error_doc
from app.api.transaction import ApiRouter
from app.deps import AdminUser, ClockDep, ReadSessionDep, SessionDep, SettingsDep
from app.errors import Unauthorized, envelope
from app.models.bank import ItemVersion
from app.schemas.bank import ItemPage, ItemStatusChange, ItemSummary, SectionIn, SectionOut
from app.services import attempts
from app.services import bank as bank_service
from app.services import staff as staff_service
from app.services.media_links import media_link_valid

router = ApiRouter(prefix="/api/v1", tags=["item bank"])


@router.post(
    "/items/import",
    response_model=bank_service.ImportSummary,
    responses=error_doc(401, 403, 413, 422),
    summary="Admin: import bank files (JSON, CSV, XLSX, QTI XML or ZIP), all or nothing",
)
def import_items(
    principal: AdminUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="one or more bank files")],
    dry_run: Annotated[bool, Form(description="report what would happen; store nothing")] = False,
    section: Annotated[str | None, Form(description="section of QTI items naming none")] = None,
    topic: Annotated[str | None, Form(description="topic of QTI items naming none")] = None,
    new_versions: Annotated[
        bool,
        Form(
            description="make a changed item under an existing code its new version even when"
            " its source does not say it is the same item"
        ),
    ] = False,
) -> bank_service.ImportSummary | JSONResponse:
    """The same report as ``ujian bank import --json``: 200 when stored (or a clean dry run),
    422 with every located problem when anything is wrong (then nothing is stored)."""
    total = sum(f.size or 0 for f in files)
    if total > settings.max_upload_bytes:
        return JSONResponse(
            envelope(
                "PayloadTooLarge",
                f"the upload is {total} bytes; the limit is {settings.max_upload_bytes}",
            ),
            status_code=413,
        )
    report = bank_service.import_files(
        session,
        [bank_service.UploadFile(f.filename or "upload", f.file) for f in files],
        actor=principal.actor,
        now=clock.now(),
        dry_run=dry_run,
        default_section=section,
        default_topic=topic,
        new_versions=new_versions,
    )
    if not report.ok:
        return JSONResponse(
            envelope(
                "ImportRejected",
                f"{len(report.errors)} problem(s); nothing was imported",
                **report.as_dict(),
            ),
            status_code=422,
        )
    return report.summary()


def _summary(row: ItemVersion) -> ItemSummary:
    return ItemSummary(
        id=row.id,
        code=row.code,
        version=row.version,
        section=row.section,
        topic=row.topic,
        stem=row.stem,
        scoring=row.scoring,
        key=row.key,
        options=row.options,
        p_value=row.p_value,
        level=row.level,
        status=row.status,
        content_hash=row.content_hash,
        created_at=row.created_at,
        shuffle=row.shuffle,
        stimulus_ref=row.stimulus_ref,
    )


@router.get(
    "/items", response_model=ItemPage, responses=error_doc(401, 403), summary="Admin: search items"
)
def list_items(
    _principal: AdminUser,
    session: ReadSessionDep,
    section: str | None = None,
    topic: str | None = None,
    status: Annotated[str | None, Query(pattern="^(active|retired|draft)$")] = None,
    text: Annotated[str | None, Query(max_length=200)] = None,
    all_versions: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ItemPage:
    """Newest version of each item (or every version), filtered, by code."""
    found = bank_service.search_items(
        session,
        section=section,
        topic=topic,
        status=status,
        text=text,
        all_versions=all_versions,
        offset=offset,
        limit=limit,
    )
    return ItemPage(
        total=found.total, offset=offset, limit=limit, items=[_summary(r) for r in found.items]
    )


@router.get(
    "/items/{code}",
    response_model=list[ItemSummary],
    responses=error_doc(401, 403, 404),
    summary="Admin: every version of an item",
)
def item_versions(code: str, _principal: AdminUser, session: ReadSessionDep) -> list[ItemSummary]:
    """Old versions stay reachable: forms that used them show exactly what was seen."""
    return [_summary(r) for r in bank_service.item_versions(session, code)]


@router.post(
    "/items/{code}/status",
    response_model=ItemSummary,
    responses=error_doc(401, 403, 404, 409),
    summary="Admin: retire or activate an item",
)
def change_status(
    code: str, body: ItemStatusChange, principal: AdminUser, session: SessionDep, clock: ClockDep
) -> ItemSummary:
    """Retired items are drawn into no new form; published exams keep their frozen pool."""
    row = bank_service.set_item_status(
        session, code, body.status, actor=principal.actor, now=clock.now(), reason=body.reason
    )
    return _summary(row)


@router.get(
    "/bank/sections",
    response_model=list[SectionOut],
    responses=error_doc(401, 403),
    summary="Admin: section codes items may use",
)
def list_sections(_principal: AdminUser, session: ReadSessionDep) -> list[SectionOut]:
    """Items of other sections are refused at import."""
    return [SectionOut(code=s.code, name=s.name) for s in bank_service.sections(session)]


@router.post(
    "/bank/sections",
    response_model=SectionOut,
    responses=error_doc(401, 403, 422),
    summary="Admin: add a section code",
)
def add_section(
    body: SectionIn, principal: AdminUser, session: SessionDep, clock: ClockDep
) -> SectionOut:
    """Add a section code (adding an existing one changes nothing)."""
    bank_service.add_section(session, body.code, body.name, actor=principal.actor, now=clock.now())
    return SectionOut(code=body.code, name=body.name)


@router.get(
    "/media/{sha256}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}, **error_doc(401, 404)},
    summary="Staff, or a candidate through the signed link in their own form: an item image",
)
def media(
    sha256: str,
    request: Request,
    session: ReadSessionDep,
    a: Annotated[int | None, Query(description="attempt of a signed candidate link")] = None,
    s: Annotated[str | None, Query(description="signature of a signed candidate link")] = None,
) -> Response:
    """Images are served to staff, and to a candidate only through the links in their own
    form (signed for that attempt and image: an ``<img>`` cannot send a bearer token), and
    only while that attempt is in progress."""
    services = request.app.state.services
    allowed = a is not None and s is not None and media_link_valid(services.secret, a, sha256, s)
    if allowed and a is not None and not attempts.shows_its_form(session, a):
        # Item images are secret bank content: a candidate's link ends with their exam.
        msg = "this image link ended with the exam"
        raise Unauthorized(msg)
    candidate_link = allowed
    if not allowed:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        now = services.clock.now()
        allowed = bool(token) and staff_service.principal_for_token(session, token, now) is not None
    if not allowed:
        msg = "log in to see item images"
        raise Unauthorized(msg)
    blob = bank_service.media(session, sha256)
    return Response(
        content=blob.data,
        media_type=blob.content_type,
        headers={
            # An SVG opened on its own runs nothing and loads nothing.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            "X-Content-Type-Options": "nosniff",
            # A candidate's copy must not outlive the exam in the PC's cache (a shared lab PC,
            # the next session): never stored. Staff browsers may keep theirs a while.
            "Cache-Control": "no-store" if candidate_link else "private, max-age=3600",
        },
    )
