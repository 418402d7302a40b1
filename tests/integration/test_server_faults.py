"""Real server processes: SIGKILL mid-exam loses no acknowledged answer and no time; two
processes on one database serve one candidate whose requests alternate between them."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from sqlalchemy import select

from app.models.attempt import Attempt, Response
from tests.conftest import TEST_SECRET
from tests.support.factory import mini_exam
from tests.support.server import running_server, start_server

pytestmark = pytest.mark.slow


def _env(database_url, tmp_path):
    return {
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_SQLITE_SYNCHRONOUS": "FULL",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
        "UJIAN_LOG_LEVEL": "WARNING",
    }


def _login(base, exam, nomor):
    response = httpx.post(
        f"{base}/api/v1/candidate/login",
        json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_sigkill_mid_exam_loses_nothing(db, clock, database_url, tmp_path):
    exam = mini_exam(db, clock, TEST_SECRET.encode(), candidates=2, duration=30)
    env = _env(database_url, tmp_path)
    server = start_server(env, tmp_path)
    acknowledged = {}
    try:
        headers = _login(server.url, exam, "2026000001")
        started = httpx.post(
            f"{server.url}/api/v1/attempts/current/start", headers=headers, timeout=10
        ).json()
        deadline = started["deadline_at"]
        for seq, (position, option) in enumerate([(1, "B"), (2, "C"), (1, "D"), (5, "A")], start=1):
            ack = httpx.put(
                f"{server.url}/api/v1/attempts/current/responses/{position}",
                json={"option": option, "flagged": position == 2, "seq": seq},
                headers=headers,
                timeout=10,
            )
            assert ack.status_code == 200
            acknowledged[position] = option
    finally:
        server.kill()  # right after the last acknowledgement

    with db.read_session() as session:
        attempt = session.scalars(select(Attempt)).one()
        stored_deadline = attempt.deadline_at
        rows = session.scalars(select(Response).where(Response.attempt_id == attempt.id)).all()
        assert len(rows) == 3
    assert stored_deadline == datetime.fromisoformat(deadline)

    with running_server(env, tmp_path) as restarted:
        after = httpx.get(
            f"{restarted.url}/api/v1/attempts/current", headers=headers, timeout=10
        ).json()
        assert after["status"] == "in_progress"
        assert after["deadline_at"] == deadline
        shown = {item["position"]: item["option"] for item in after["items"] if item["option"]}
        assert shown == acknowledged
        assert after["items"][1]["flagged"] is True
        more = httpx.put(
            f"{restarted.url}/api/v1/attempts/current/responses/3",
            json={"option": "E", "flagged": False, "seq": after["last_seq"] + 1},
            headers=headers,
            timeout=10,
        )
        assert more.status_code == 200


def test_two_processes_serve_one_candidate_alternately(db, clock, database_url, tmp_path):
    exam = mini_exam(db, clock, TEST_SECRET.encode(), candidates=1, duration=30)
    env = _env(database_url, tmp_path)
    with running_server(env, tmp_path) as one, running_server(env, tmp_path) as two:
        servers = [one.url, two.url]
        headers = _login(servers[0], exam, "2026000001")
        httpx.post(f"{servers[1]}/api/v1/attempts/current/start", headers=headers, timeout=10)
        answers = ["A", "B", "C", "D", "E", "E", "D", "B"]
        for seq, option in enumerate(answers, start=1):
            position = (seq - 1) % 5 + 1
            ack = httpx.put(
                f"{servers[seq % 2]}/api/v1/attempts/current/responses/{position}",
                json={"option": option, "flagged": False, "seq": seq},
                headers=headers,
                timeout=10,
            )
            assert ack.status_code == 200, ack.text
            assert ack.json()["applied"] is True
        # A stale retry reaching the other process is still refused.
        stale = httpx.put(
            f"{servers[0]}/api/v1/attempts/current/responses/1",
            json={"option": "E", "flagged": False, "seq": 1},
            headers=headers,
            timeout=10,
        )
        assert stale.json()["applied"] is False
        views = [
            httpx.get(f"{s}/api/v1/attempts/current", headers=headers, timeout=10).json()
            for s in servers
        ]
        assert views[0]["items"] == views[1]["items"]
        assert [i["option"] for i in views[0]["items"]] == ["E", "D", "B", "D", "E"]
        finished = httpx.post(
            f"{servers[1]}/api/v1/attempts/current/finish",
            json={"confirm": True},
            headers=headers,
            timeout=10,
        ).json()
        again = httpx.post(
            f"{servers[0]}/api/v1/attempts/current/finish",
            json={"confirm": True},
            headers=headers,
            timeout=10,
        ).json()
        assert finished["result"] == again["result"]
