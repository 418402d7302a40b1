"""More simultaneous requests than worker threads and database connections: all succeed.

A synchronized start once deadlocked the server: every worker thread waited for SQLite's
single write connection while its holder waited for a worker thread to serialize its
response. Transactions now open and close inside the route's own thread.
"""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from tests.support.factory import mini_exam


def test_sixty_simultaneous_logins_and_starts_all_succeed(db, clock, app):
    built = mini_exam(db, clock, app.state.secret, candidates=60)
    statuses: list[int] = []
    lock = threading.Lock()
    with TestClient(app) as client:
        barrier = threading.Barrier(len(built.pins))

        def candidate(nomor: str, pin: str) -> None:
            barrier.wait()
            login = client.post(
                "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": pin}
            )
            started = None
            if login.status_code == 200:
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                started = client.post("/api/v1/attempts/current/start", headers=headers).status_code
            with lock:
                statuses.append(started or login.status_code)

        threads = [
            threading.Thread(target=candidate, args=(p.nomor_peserta, p.pin)) for p in built.pins
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert statuses == [200] * 60
