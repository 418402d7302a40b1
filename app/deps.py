"""FastAPI dependencies: the route's session type, the clock, settings and one guard per role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db import Database
from app.errors import Forbidden
from app.models.staff import Role
from app.services import staff as staff_service
from app.services.staff import StaffPrincipal
from app.settings import Settings
from app.trusted_proxies import real_client


def get_database(request: Request) -> Database:
    """The process's database engines."""
    db: Database = request.app.state.db
    return db


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    """The server clock."""
    clock: Clock = request.app.state.clock
    return clock


class SessionOutsideUnitOfWork(RuntimeError):
    """A route reached the session dependency instead of running in a unit of work."""


def get_session(request: Request) -> Session:
    """Never called for a correctly built route: see :mod:`app.api.transaction`.

    A route's ``SessionDep`` parameter is replaced by a unit of work around its body; a
    dependency that opened the session here instead would hold the connection across threads,
    the deadlock the unit of work exists to avoid. ``create_app`` refuses such routes; this is
    the last line should one be built by hand.
    """
    msg = f"{request.method} {request.url.path} took a session outside the unit of work"
    raise SessionOutsideUnitOfWork(msg)


def get_read_session(request: Request) -> Session:
    """Never called for a correctly built route (see :func:`get_session`)."""
    msg = f"{request.method} {request.url.path} took a read session outside the unit of work"
    raise SessionOutsideUnitOfWork(msg)


#: A route parameter of this type runs the route in one writing unit of work (committed when
#: the route returns, before the response leaves: an acknowledged change is durable).
SessionDep = Annotated[Session, Depends(get_session)]
#: A route parameter of this type runs the route in one read-only unit of work.
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]

bearer_scheme = HTTPBearer(
    auto_error=False, description="A staff token from POST /api/v1/auth/token"
)


class RoleGuard:
    """A dependency admitting staff whose role is one of ``roles`` (401 without a live token)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> StaffPrincipal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise staff_service.unauthorized()
        with get_database(request).unit_of_work(write=False) as session:
            principal = staff_service.principal_for_token(
                session, credentials.credentials, get_clock(request).now()
            )
        if principal is None:
            raise staff_service.unauthorized()
        if principal.role not in self.roles:
            needed = " or ".join(sorted(self.roles))
            msg = f"this action needs the {needed} role; you are {principal.role}"
            raise Forbidden(msg)
        return principal


require_admin = RoleGuard(Role.ADMIN)
require_committee = RoleGuard(Role.COMMITTEE)
require_proctor = RoleGuard(Role.PROCTOR)
require_staff = RoleGuard(Role.ADMIN, Role.COMMITTEE, Role.PROCTOR)

AdminUser = Annotated[StaffPrincipal, Depends(require_admin)]
CommitteeUser = Annotated[StaffPrincipal, Depends(require_committee)]
ProctorUser = Annotated[StaffPrincipal, Depends(require_proctor)]
StaffUserDep = Annotated[StaffPrincipal, Depends(require_staff)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def client_address(request: Request) -> str:
    """The caller's address: the connection's, or behind a trusted reverse proxy
    (``UJIAN_TRUSTED_PROXIES``) the nearest untrusted hop of ``X-Forwarded-For``."""
    peer = request.client.host if request.client else "unknown"
    trusted = get_settings_dep(request).trusted_proxy_networks
    return real_client(peer, request.headers.getlist("x-forwarded-for"), trusted)
