"""Liveness and readiness: ``GET /healthz`` answers 200 only when the database answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.deps import DatabaseDep
from app.errors import envelope

router = APIRouter(tags=["service"])


@router.get("/healthz", summary="Anyone: is the service and its database up")
def healthz(db: DatabaseDep) -> JSONResponse:
    """200 with the database backend when ``SELECT 1`` succeeds, 503 otherwise."""
    try:
        with db.read_session() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return JSONResponse(
            envelope("DatabaseUnavailable", f"the database did not answer: {type(exc).__name__}"),
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": db.engine.dialect.name})
