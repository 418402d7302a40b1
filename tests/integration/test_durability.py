"""An acknowledged write survives SIGKILL of the server process (SQLite WAL + FULL, PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from app.models.staff import ApiToken, Role
from app.security import token_digest
from tests.conftest import TEST_SECRET
from tests.support.server import running_server, start_server

pytestmark = pytest.mark.slow


def test_acknowledged_token_survives_sigkill_and_works_after_restart(
    db, database_url, make_staff, tmp_path
):
    username, password = make_staff(Role.ADMIN, None)
    env = {
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_SQLITE_SYNCHRONOUS": "FULL",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
    }
    server = start_server(env, tmp_path)
    try:
        response = httpx.post(
            f"{server.url}/api/v1/auth/token",
            json={"username": username, "password": password},
            timeout=10,
        )
        assert response.status_code == 200
    finally:
        # Killed the instant the acknowledgement arrived: nothing gets a chance to flush.
        server.kill()
    token = response.json()["access_token"]

    with db.read_session() as session:
        stored = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == token_digest(token))
        ).one_or_none()
    assert stored is not None

    with running_server(env, tmp_path) as restarted:
        me = httpx.get(
            f"{restarted.url}/api/v1/auth/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert me.status_code == 200
    assert me.json()["username"] == username
