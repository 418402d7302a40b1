"""Liveness and readiness: ``GET /healthz`` answers 200 only when the database answers."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.api.responses import error_doc
from app.api.transaction import ApiRouter
from app.deps import DatabaseDep
from app.errors import envelope
from app.repositories import health as health_repo
from app.schemas.health import HealthOut

router = ApiRouter(tags=["service"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses=error_doc(503),
    summary="Anyone: is the service and its database up",
)
def healthz(db: DatabaseDep) -> HealthOut | JSONResponse:
    """200 with the database backend when ``SELECT 1`` succeeds, 503 otherwise."""
    try:
        with db.read_session() as session:
            health_repo.ping(session)
    except SQLAlchemyError as exc:
        return JSONResponse(
            envelope("DatabaseUnavailable", f"the database did not answer: {type(exc).__name__}"),
            status_code=503,
        )
    return HealthOut(status="ok", database=db.engine.dialect.name)
