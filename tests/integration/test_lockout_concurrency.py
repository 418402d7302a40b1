"""Concurrent guesses never get more PINs or passwords checked than the limit allows.

Two ``ujian serve`` processes on the suite's database take the guesses at once. The counting
statement reads and writes the counter together, so the limit holds across processes (it
once let 34 of 60 concurrent wrong PINs through on PostgreSQL instead of 5). Both servers
trust 127.0.0.1 as a proxy, so each burst names its own client in X-Forwarded-For.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import httpx
import pytest

from app.repositories import audit as audit_repo
from tests.conftest import TEST_SECRET
from tests.support.factory import mini_exam
from tests.support.server import running_server

pytestmark = pytest.mark.slow

MAX_FAILURES = 2
BURST = 60


@pytest.fixture
def servers(database_url, tmp_path, db):
    env = {
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
        "UJIAN_LOG_LEVEL": "WARNING",
        "UJIAN_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "UJIAN_TRUSTED_PROXIES": "127.0.0.1/32",
    }
    with running_server(env, tmp_path) as first, running_server(env, tmp_path) as second:
        yield first, second


def burst(urls: list[str], path: str, bodies: list[dict], client: str) -> list[int]:
    """Send every body at once (a barrier releases them together), alternating servers."""
    barrier = threading.Barrier(len(bodies))

    def send(url: str, body: dict) -> int:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            response = http.post(f"{url}{path}", json=body, headers={"X-Forwarded-For": client})
            return response.status_code

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, [u for u, _ in zip(cycle(urls), bodies)], bodies))


def test_concurrent_guesses_get_at_most_the_limit_checked(servers, db, clock, make_staff):
    from app.models.staff import Role

    first, second = servers
    for server in servers:
        assert "Trusted proxies (X-Forwarded-For believed from): 127.0.0.1/32" in server.log()
    urls = [first.url, second.url]
    exam = mini_exam(db, clock, TEST_SECRET.encode(), candidates=1)
    victim = exam.pins[0]

    # One candidate, one client, 60 wrong PINs at once: only the limit is compared.
    wrong = [{"nomor_peserta": victim.nomor_peserta, "pin": "000000"}] * BURST
    statuses = burst(urls, "/api/v1/candidate/login", wrong, "10.1.0.1")
    assert sorted(statuses) == [401] * MAX_FAILURES + [429] * (BURST - MAX_FAILURES)
    with db.read_session() as session:
        failed = [
            e for e in audit_repo.iter_events(session) if e.action == "candidate.login_failed"
        ]
    assert len(failed) == MAX_FAILURES
    # Another PC of the same candidate is not locked by them.
    right = [{"nomor_peserta": victim.nomor_peserta, "pin": victim.pin}]
    assert burst(urls, "/api/v1/candidate/login", right, "10.1.0.2") == [200]

    # One client, 60 different candidates at once: only the client's limit is compared.
    client_limit = MAX_FAILURES * 20
    spray = [{"nomor_peserta": f"2099{i:06d}", "pin": "000000"} for i in range(BURST)]
    statuses = burst(urls, "/api/v1/candidate/login", spray, "10.2.0.1")
    assert sorted(statuses) == [401] * client_limit + [429] * (BURST - client_limit)

    # One staff account, one client, 30 wrong passwords at once.
    username, password = make_staff(Role.PROCTOR, None)
    guesses = [{"username": username, "password": "bad-password-x"}] * 30
    statuses = burst(urls, "/api/v1/auth/token", guesses, "10.3.0.1")
    assert sorted(statuses) == [401] * MAX_FAILURES + [429] * (30 - MAX_FAILURES)
    good = [{"username": username, "password": password}]
    assert burst(urls, "/api/v1/auth/token", good, "10.3.0.2") == [200]


def test_the_unlock_commands_clear_a_candidate_and_a_staff_account(
    database_url, tmp_path, db, clock, make_staff
):
    import os
    import subprocess
    import sys
    from datetime import timedelta

    from app.models.staff import Role
    from app.services import throttle

    exam = mini_exam(db, clock, TEST_SECRET.encode(), candidates=1)
    nomor = exam.pins[0].nomor_peserta
    username, _ = make_staff(Role.PROCTOR, None)
    policy = throttle.Policy(1, timedelta(minutes=15), timedelta(minutes=15))
    with db.session() as session:
        for scope, subject in (("candidate", nomor), ("staff", username)):
            gate = throttle.Gate(scope, subject, "10.0.0.7", policy, policy)
            throttle.admit(session, gate, clock.now())
            assert throttle.locked_subjects(session, scope, [subject], clock.now())

    env = {
        **os.environ,
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
        "COLUMNS": "200",
    }

    def ujian(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    done = ujian("sitting", "unlock", str(exam.sitting_id), nomor, "--reason", "sudah dicek")
    assert done.returncode == 0, done.stderr
    assert f"unlocked {nomor} (locked from 10.0.0.7)" in done.stdout
    done = ujian("user", "unlock", username)
    assert done.returncode == 0, done.stderr
    assert f"unlocked {username} (locked from 10.0.0.7)" in done.stdout
    with db.read_session() as session:
        assert not throttle.locked_subjects(session, "candidate", [nomor], clock.now())
        assert not throttle.locked_subjects(session, "staff", [username], clock.now())

    missing = ujian("sitting", "unlock", str(exam.sitting_id), "2099999999", "--reason", "cek")
    assert missing.returncode != 0
    assert "2099999999 is not on the roster" in missing.stdout + missing.stderr
