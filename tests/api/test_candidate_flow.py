"""A candidate's whole attempt through the API: login, start, answer, finish, result."""

from __future__ import annotations

import pytest

from tests.support.factory import mini_exam


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret)


def login(client, exam, nomor="2026000001"):
    response = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_full_attempt(client, exam):
    headers = login(client, exam)
    before = client.get("/api/v1/attempts/current", headers=headers).json()
    assert before["status"] == "ready"
    assert before["items"] == []

    started = client.post("/api/v1/attempts/current/start", headers=headers).json()
    assert started["status"] == "in_progress"
    assert len(started["items"]) == 5
    assert [i["section"] for i in started["items"]] == ["TWK"] * 3 + ["TKP"] * 2
    assert started["remaining_seconds"] == 600

    for item in started["items"]:
        ack = client.put(
            f"/api/v1/attempts/current/responses/{item['position']}",
            json={"option": "A", "flagged": False, "seq": item["position"]},
            headers=headers,
        )
        assert ack.status_code == 200, ack.text
        assert ack.json()["applied"] is True

    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    ).json()
    assert finished["status"] == "finished"
    result = finished["result"]
    assert result["max_total"] == 25
    assert 0 <= result["total"] <= 25
    assert result["slip_code"]
