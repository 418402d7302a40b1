"""Staff authentication: tokens, refusals, revocation, lockout and role checks."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from app.deps import AdminUser, CommitteeUser, ProctorUser
from app.models.staff import Role


def _token(client: TestClient, username: str, password: str) -> str:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_login_gives_a_token_that_identifies_the_user(client, make_staff):
    username, password = make_staff(Role.COMMITTEE, "siti")
    token = _token(client, username, password)
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json() == {"username": "siti", "role": "committee"}


def test_form_login_works_for_the_docs_authorize_button(client, make_staff):
    username, password = make_staff(Role.ADMIN, None)
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200
    assert response.json()["role"] == "admin"


def test_wrong_password_is_refused_with_401_and_the_envelope(client, make_staff):
    username, _ = make_staff(Role.ADMIN, None)
    response = client.post(
        "/api/v1/auth/token", json={"username": username, "password": "nope-nope-nope"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "Unauthorized",
        "detail": "wrong username or password",
        "retryable": False,
    }


def test_unknown_user_gets_the_same_refusal_as_a_wrong_password(client):
    response = client.post(
        "/api/v1/auth/token", json={"username": "ghost", "password": "whatever-123"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong username or password"


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    client, make_staff, settings
):
    username, password = make_staff(Role.PROCTOR, None)
    for _ in range(settings.login_max_failures):
        assert (
            client.post(
                "/api/v1/auth/token", json={"username": username, "password": "bad-password-x"}
            ).status_code
            == 401
        )
    locked = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert locked.status_code == 429
    assert locked.json()["error"] == "TooManyRequests"
    assert int(locked.headers["Retry-After"]) > 0


def test_lock_expires_with_time(client, make_staff, settings, clock):
    from datetime import timedelta

    username, password = make_staff(Role.PROCTOR, None)
    for _ in range(settings.login_max_failures):
        client.post("/api/v1/auth/token", json={"username": username, "password": "bad-password-x"})
    clock.advance(timedelta(minutes=settings.login_lockout_minutes, seconds=1))
    assert (
        client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        ).status_code
        == 200
    )


def test_revoked_token_is_refused(client, make_staff):
    username, password = make_staff(Role.ADMIN, None)
    token = _token(client, username, password)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    after = client.get("/api/v1/auth/me", headers=headers)
    assert after.status_code == 401
    assert after.json()["error"] == "Unauthorized"


def test_expired_token_is_refused(client, make_staff, clock, settings):
    from datetime import timedelta

    username, password = make_staff(Role.ADMIN, None)
    headers = {"Authorization": f"Bearer {_token(client, username, password)}"}
    clock.advance(timedelta(hours=settings.token_lifetime_hours, seconds=1))
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_disabled_account_loses_its_tokens(client, make_staff, db, clock):
    from app.services import staff

    username, password = make_staff(Role.ADMIN, None)
    headers = {"Authorization": f"Bearer {_token(client, username, password)}"}
    with db.session() as session:
        staff.set_active(session, username, False, clock.now(), "test")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert (
        client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        ).status_code
        == 401
    )


def test_missing_and_malformed_tokens_are_401(client):
    assert client.get("/api/v1/auth/me").status_code == 401
    bad = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == "Bearer"


def test_each_role_guard_admits_only_its_role(app: FastAPI, make_staff):
    probe = APIRouter()

    @probe.get("/probe/admin")
    def _admin(user: AdminUser) -> dict[str, str]:
        return {"user": user.username}

    @probe.get("/probe/committee")
    def _committee(user: CommitteeUser) -> dict[str, str]:
        return {"user": user.username}

    @probe.get("/probe/proctor")
    def _proctor(user: ProctorUser) -> dict[str, str]:
        return {"user": user.username}

    app.include_router(probe)
    with TestClient(app) as client:
        tokens = {}
        for role in Role:
            username, password = make_staff(role, None)
            tokens[role] = {"Authorization": f"Bearer {_token(client, username, password)}"}
        for route_role in Role:
            for caller in Role:
                response = client.get(f"/probe/{route_role}", headers=tokens[caller])
                expected = 200 if caller is route_role else 403
                assert response.status_code == expected, (route_role, caller, response.text)
                if expected == 403:
                    assert response.json()["error"] == "Forbidden"


def test_login_and_failures_are_audited(client, make_staff, db):
    from app.repositories import audit as audit_repo
    from app.services import audit

    username, password = make_staff(Role.ADMIN, None)
    client.post("/api/v1/auth/token", json={"username": username, "password": "wrong-password"})
    _token(client, username, password)
    with db.read_session() as session:
        actions = [e.action for e in audit_repo.iter_events(session)]
        assert audit.verify(session).intact
    assert actions.count("staff.login_failed") == 1
    assert actions.count("staff.login") == 1
