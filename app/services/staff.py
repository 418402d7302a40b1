"""Staff accounts: creation, login with lockout, token issue and revocation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound, Unauthorized
from app.models.staff import ApiToken, Role, StaffUser
from app.repositories import staff as repo
from app.security import hash_password, new_token, token_digest, verify_password
from app.services import audit, throttle

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class StaffPrincipal:
    """Who is calling, as the routes see it (no ORM object crosses the session)."""

    id: int
    username: str
    role: Role

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"staff:{self.username}"


@dataclass(frozen=True)
class IssuedToken:
    """A token as returned once to its owner (only its digest is kept)."""

    access_token: str
    expires_at: datetime
    role: Role


def create_user(
    session: Session, *, username: str, password: str, role: Role, now: datetime, actor: str
) -> StaffUser:
    """Create an account; refuse bad names, short passwords and duplicates."""
    if not USERNAME_PATTERN.match(username):
        msg = (
            "username: use 2-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
        raise AppError(msg)
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = f"password: at least {MIN_PASSWORD_LENGTH} characters"
        raise AppError(msg)
    if repo.by_username(session, username) is not None:
        msg = f"a staff account named {username!r} already exists"
        raise Conflict(msg)
    user = repo.add_user(
        session,
        StaffUser(
            username=username,
            password_hash=hash_password(password),
            role=str(role),
            active=True,
            created_at=now,
        ),
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="staff.create",
        subject=f"staff:{username}",
        payload={"role": str(role)},
    )
    return user


def login(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    lifetime: timedelta,
    policy: throttle.Policy,
    client: str,
    client_policy: throttle.Policy | None = None,
) -> IssuedToken | AppError:
    """Check a password and issue a token, or return (not raise) the refusal.

    Tries are counted per (username, client) and per client before the password is checked, so
    nobody locks an account from another client. Unknown, disabled and known usernames cost
    the same Argon2 verification, so the answer's timing does not tell which names exist.

    Returned rather than raised so the caller commits the failure count and its audit event:
    a rolled-back failure would make the lockout useless.
    """
    name = username.lower()
    gate = throttle.Gate("staff", name, client, policy, client_policy or client_limit(policy))
    admission = throttle.admit(session, gate, now)
    if not admission.admitted:
        return admission.refusal(now, "too many failed logins; try again in {seconds} s")
    user = repo.by_username(session, username)
    # Verified first, whatever the account: the same work for every refusal.
    matches = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not user.active or not matches:
        audit.record(
            session,
            at=now,
            actor=f"client:{client}",
            action="staff.login_failed",
            subject=f"staff:{name}",
            payload={
                "failures": admission.failures,
                "locked": admission.locked_until is not None,
                "client": client,
            },
        )
        return Unauthorized("wrong username or password")
    throttle.succeeded(session, gate, admission)
    token = new_token()
    expires_at = now + lifetime
    repo.add_token(
        session,
        ApiToken(
            token_hash=token_digest(token), user_id=user.id, created_at=now, expires_at=expires_at
        ),
    )
    audit.record(
        session,
        at=now,
        actor=f"staff:{user.username}",
        action="staff.login",
        subject=f"staff:{user.username}",
        payload={"client": client},
    )
    return IssuedToken(access_token=token, expires_at=expires_at, role=Role(user.role))


def client_limit(policy: throttle.Policy) -> throttle.Policy:
    """The limit of one client's failed staff logins over every username: an office behind
    one address holds a few staff who may each mistype."""
    return throttle.Policy(policy.max_failures * 4, policy.window, policy.lockout)


def unlock(session: Session, username: str, now: datetime, actor: str) -> list[str]:
    """Clear the login locks of ``username`` (from every client); the clients it was locked
    from. Audited, also when nothing was locked (an admin acted)."""
    name = username.lower()
    if repo.by_username(session, name) is None:
        msg = f"no staff account named {username!r}"
        raise NotFound(msg)
    clients = sorted({lock.client for lock in throttle.unlock(session, "staff", name, now)})
    audit.record(
        session,
        at=now,
        actor=actor,
        action="staff.unlock",
        subject=f"staff:{name}",
        payload={"clients": clients},
    )
    return clients


def principal_for_token(session: Session, token: str, now: datetime) -> StaffPrincipal | None:
    """The staff member a live token belongs to."""
    user = repo.user_for_token(session, token_digest(token), now)
    if user is None:
        return None
    return StaffPrincipal(id=user.id, username=user.username, role=Role(user.role))


def revoke(session: Session, token: str, now: datetime, principal: StaffPrincipal) -> None:
    """Revoke the caller's own token."""
    repo.revoke_token(session, token_digest(token), now)
    audit.record(
        session, at=now, actor=principal.actor, action="staff.logout", subject=principal.actor
    )


def revoke_all(session: Session, username: str, now: datetime, actor: str) -> int:
    """Revoke every token of ``username`` (a lost laptop, a person leaving)."""
    user = repo.by_username(session, username)
    if user is None:
        msg = f"no staff account named {username!r}"
        raise NotFound(msg)
    count = repo.revoke_all_tokens(session, user.id, now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="staff.revoke_tokens",
        subject=f"staff:{username}",
        payload={"revoked": count},
    )
    return count


def set_active(session: Session, username: str, active: bool, now: datetime, actor: str) -> None:
    """Disable (or re-enable) an account; disabling also revokes its tokens."""
    user = repo.by_username(session, username)
    if user is None:
        msg = f"no staff account named {username!r}"
        raise NotFound(msg)
    user.active = active
    if not active:
        repo.revoke_all_tokens(session, user.id, now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="staff.enable" if active else "staff.disable",
        subject=f"staff:{username}",
    )


def unauthorized() -> Unauthorized:
    """The one refusal for a missing, unknown, expired or revoked token."""
    return Unauthorized("missing, expired or revoked bearer token")
