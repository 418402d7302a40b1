"""The reference for the autosave benchmark: a bare FastAPI endpoint that validates the same
body as ``PUT /attempts/current/responses/{position}`` and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from app.schemas.candidate import SaveAck, SaveBody

app = FastAPI()


@app.put("/api/v1/attempts/current/responses/{position}", response_model=SaveAck)
async def save(position: int, body: SaveBody) -> SaveAck:
    """Validate and echo; no database, no auth, no middleware."""
    return SaveAck(
        position=position,
        option=body.option,
        flagged=body.flagged,
        seq=body.seq,
        applied=True,
        remaining_seconds=0,
        saved_at=datetime.now(UTC),
    )
