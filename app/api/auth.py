"""Staff authentication: obtain, inspect and revoke bearer tokens."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.api.responses import error_doc, error_response
from app.api.transaction import ApiRouter
from app.deps import (
    AdminUser,
    BearerDep,
    ClockDep,
    SessionDep,
    SettingsDep,
    StaffUserDep,
    client_address,
)
from app.errors import AppError
from app.schemas.auth import LoginUnlocked, Me, TokenRequest, TokenResponse
from app.services import staff as staff_service
from app.services.throttle import Policy

router = ApiRouter(prefix="/api/v1/auth", tags=["auth"])

_TOKEN_BODY: dict[str, object] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TokenRequest.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": TokenRequest.model_json_schema()},
        },
    }
}


async def _credentials(request: Request) -> TokenRequest:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            data: Any = dict(await request.form())
        else:
            data = json.loads(await request.body() or b"null")
        return TokenRequest.model_validate(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": f"invalid JSON: {exc}", "type": "json_invalid"}]
        ) from exc
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


@router.post(
    "/token",
    response_model=TokenResponse,
    openapi_extra=_TOKEN_BODY,
    responses=error_doc(401, 422, 429),
    summary="Log in as staff (any role)",
)
def issue_token(
    request: Request,
    credentials: Annotated[TokenRequest, Depends(_credentials)],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Any:
    """Exchange a staff username and password for a bearer token."""
    outcome = staff_service.login(
        session,
        username=credentials.username,
        password=credentials.password,
        now=clock.now(),
        lifetime=timedelta(hours=settings.token_lifetime_hours),
        policy=Policy(
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_lockout_minutes),
            lockout=timedelta(minutes=settings.login_lockout_minutes),
        ),
        client=client_address(request),
    )
    if isinstance(outcome, AppError):
        # Returned, not raised: the failure count and its audit event must commit.
        return error_response(outcome)
    return TokenResponse(
        access_token=outcome.access_token, expires_at=outcome.expires_at, role=outcome.role
    )


@router.get("/me", response_model=Me, responses=error_doc(401), summary="Any staff role")
def me(principal: StaffUserDep) -> Me:
    """The account the bearer token belongs to."""
    return Me(username=principal.username, role=principal.role)


@router.delete(
    "/token", status_code=204, responses=error_doc(401), summary="Any staff role: log out"
)
def revoke_token(
    principal: StaffUserDep, credentials: BearerDep, session: SessionDep, clock: ClockDep
) -> JSONResponse:
    """Revoke the token used for this request; later requests with it get 401."""
    assert credentials is not None  # the role guard refused requests without one
    staff_service.revoke(session, credentials.credentials, clock.now(), principal)
    return JSONResponse(None, status_code=204)


@router.post(
    "/users/{username}/unlock",
    response_model=LoginUnlocked,
    responses=error_doc(401, 403, 404, 422),
    summary="Admin: clear a staff account's login locks",
)
def unlock_user(
    username: Annotated[str, Path(min_length=1, max_length=64)],
    principal: AdminUser,
    session: SessionDep,
    clock: ClockDep,
) -> LoginUnlocked:
    """Clear the locks failed logins put on ``username`` (from every client) and the locks of
    the clients it was locked from; audited."""
    clients = staff_service.unlock(session, username, clock.now(), principal.actor)
    return LoginUnlocked(subject=username.lower(), clients=clients)
