"""Results, slips, anonymized rankings and the live board, through the API."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from app.models.staff import Role
from tests.support.factory import mini_exam, take_exam

# MINI: TWK 3 items x 5 points (umum needs TWK >= 10), TKP 2 weighted items 1-5 (needs >= 6).
ALL_KEY = {"TWK": "key", "TKP": "key"}  # 15 + 10 = 25
WEAK_TWK = {"TWK": "wrong", "TKP": "key"}  # 0 + 10: fails TWK 0 < 10
LOW_TKP = {"TWK": "key", "TKP": "wrong"}  # 15 + 2: fails TKP 2 < 6


@pytest.fixture
def committee(staff_headers):
    return staff_headers(Role.COMMITTEE)


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=5)


def test_result_shows_sections_total_and_each_rule(client, exam, committee):
    state = take_exam(client, exam, "2026000001", committee, WEAK_TWK)
    result = state["result"]
    assert {s["code"]: s["score"] for s in result["sections"]} == {"TWK": 0, "TKP": 10}
    assert result["total"] == 10
    assert result["passed"] is False
    assert [r["text"] for r in result["rules"]] == ["TWK 0 < 10", "TKP 10 ≥ 6"]


def test_slip_verifies_and_a_forged_code_is_rejected(client, exam, committee):
    result = take_exam(client, exam, "2026000002", committee, ALL_KEY)["result"]
    code = result["slip_code"]
    good = client.get(f"/api/v1/public/slips/{code}").json()
    assert good["authentic"] is True
    assert good["slip"]["total"] == 25
    assert good["slip"]["pseudonym"] == result["pseudonym"]
    assert "2026000002" not in json.dumps(good)
    assert "Peserta" not in json.dumps(good)
    serial, tag = code.split("-")
    forged = client.get(f"/api/v1/public/slips/{serial}-{'A' * len(tag)}").json()
    assert forged["authentic"] is False
    unknown = client.get("/api/v1/public/slips/AAAAAAAAAAAAAAAA-BBBBBBBBBBBB").json()
    assert unknown == {
        "authentic": False,
        "reason": unknown["reason"],
        "reason_code": "unknown",
        "slip": None,
    }
    qr = client.get(f"/api/v1/public/slips/{code}/qr.svg")
    assert qr.headers["content-type"] == "image/svg+xml"
    assert qr.text.lstrip().startswith("<?xml")


def test_published_ranking_orders_thresholds_and_statuses(client, exam, committee):
    take_exam(client, exam, "2026000001", committee, ALL_KEY)
    take_exam(client, exam, "2026000002", committee, LOW_TKP)
    take_exam(client, exam, "2026000003", committee, ALL_KEY)
    take_exam(client, exam, "2026000004", committee, WEAK_TWK)
    # 2026000005 never starts: TH
    published = client.post("/api/v1/exams/MINI/rankings", headers=committee)
    assert published.status_code == 200, published.text
    assert published.json()[0]["outcome"] == "published"

    board = client.get("/api/v1/public/rankings/MINI").json()
    rows = board["formations"][0]["rows"]
    statuses = [r["status"] for r in rows]
    assert statuses == ["P/L", "P/L", "T/L", "T/L", "TH"]  # F1: 1 opening x 3: both tied inside
    assert [r["rank"] for r in rows] == [1, 1, None, None, None]
    assert rows[0]["total"] == 25
    assert rows[-1]["total"] is None
    text = json.dumps(board)
    for private in ("20260000", "Peserta"):
        assert private not in text
    snapshot = board["formations"][0]["snapshot"]
    assert len(snapshot["content_hash"]) == 64
    assert len(snapshot["signature"]) == 64


def test_search_by_pseudonym_and_csv(client, exam, committee):
    result = take_exam(client, exam, "2026000001", committee, ALL_KEY)["result"]
    client.post("/api/v1/exams/MINI/rankings", headers=committee)
    typed = result["pseudonym"].lower().replace("-", " ")
    found = client.get("/api/v1/public/rankings/MINI", params={"q": typed}).json()
    assert [r["pseudonym"] for r in found["formations"][0]["rows"]] == [result["pseudonym"]]
    bad = client.get("/api/v1/public/rankings/MINI", params={"q": "not-a-code"})
    assert bad.status_code == 400
    csv_text = client.get("/api/v1/public/rankings/MINI", params={"format": "csv"}).text
    assert csv_text.splitlines()[0] == "formation,rank,pseudonym,TWK,TKP,total,status"
    assert f"F1,1,{result['pseudonym']},15,10,25,P/L" in csv_text


def test_republishing_unchanged_adds_nothing(client, exam, committee):
    take_exam(client, exam, "2026000001", committee, ALL_KEY)
    client.post("/api/v1/exams/MINI/rankings", headers=committee)
    again = client.post("/api/v1/exams/MINI/rankings", headers=committee).json()
    assert again[0]["outcome"] == "unchanged"
    assert again[0]["number"] == 1


def test_publication_waits_for_running_attempts(client, exam, committee):
    token = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": exam.pin_of("2026000001")},
    ).json()["access_token"]
    client.post("/api/v1/attempts/current/start", headers={"Authorization": f"Bearer {token}"})
    response = client.post("/api/v1/exams/MINI/rankings", headers=committee)
    assert response.status_code == 409
    assert "still running" in response.json()["detail"]


def test_only_the_committee_publishes(client, exam, staff_headers):
    for role in (Role.ADMIN, Role.PROCTOR):
        assert (
            client.post("/api/v1/exams/MINI/rankings", headers=staff_headers(role)).status_code
            == 403
        )
    assert client.post("/api/v1/exams/MINI/rankings").status_code == 401


@pytest.mark.slow
def test_live_board_streams_a_result_within_two_seconds(
    db, clock, database_url, tmp_path, make_staff
):
    """A result finished through one server process appears on another's stream."""
    from tests.conftest import TEST_SECRET
    from tests.support.server import running_server

    built = mini_exam(db, clock, TEST_SECRET.encode(), candidates=2)
    env = {
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
        "UJIAN_LOG_LEVEL": "WARNING",
    }
    with running_server(env, tmp_path) as viewer, running_server(env, tmp_path) as exam_server:
        events: list[tuple[str, dict, float]] = []

        def listen() -> None:
            with httpx.stream(
                "GET", f"{viewer.url}/api/v1/public/live/{built.sitting_id}", timeout=30
            ) as stream:
                name = None
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: ") and name:
                        events.append((name, json.loads(line[6:]), time.monotonic()))
                        if name == "result":
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert events[0][0] == "board"
        assert events[0][1] == []

        token = httpx.post(
            f"{exam_server.url}/api/v1/candidate/login",
            json={"nomor_peserta": "2026000001", "pin": built.pin_of("2026000001")},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        httpx.post(f"{exam_server.url}/api/v1/attempts/current/start", headers=headers)
        finished = httpx.post(
            f"{exam_server.url}/api/v1/attempts/current/finish",
            json={"confirm": True},
            headers=headers,
        ).json()
        finished_at = time.monotonic()
        listener.join(timeout=10)
        assert events[-1][0] == "result"
        row = events[-1][1]
        assert row["pseudonym"] == finished["result"]["pseudonym"]
        assert "nomor_peserta" not in row
        assert events[-1][2] - finished_at < 2.0


def test_item_analysis_for_the_committee(client, exam, committee):
    for nomor, plan in (("2026000001", ALL_KEY), ("2026000002", WEAK_TWK), ("2026000003", LOW_TKP)):
        take_exam(client, exam, nomor, committee, plan)
    analysis = client.get("/api/v1/exams/MINI/item-analysis", headers=committee)
    assert analysis.status_code == 200, analysis.text
    body = analysis.json()
    assert body["n_candidates"] == 3
    report = client.get("/api/v1/exams/MINI/item-report", headers=committee)
    assert report.headers["content-type"].startswith("text/html")
    assert "<script" not in report.text
    assert "default-src 'none'" in report.headers["content-security-policy"]


def test_item_analysis_is_for_the_committee_only(client, exam, staff_headers):
    assert (
        client.get(
            "/api/v1/exams/MINI/item-analysis", headers=staff_headers(Role.PROCTOR)
        ).status_code
        == 403
    )


def test_slip_reason_codes_and_mistyped_pseudonyms(client, exam, committee):
    result = take_exam(client, exam, "2026000001", committee, ALL_KEY)["result"]
    code = result["slip_code"]
    assert client.get(f"/api/v1/public/slips/{code}").json()["reason_code"] == "authentic"
    serial, tag = code.split("-")
    altered = client.get(f"/api/v1/public/slips/{serial}-{'B' * len(tag)}").json()
    assert altered["reason_code"] == "altered"
    assert client.get("/api/v1/public/slips/nonsense").json()["reason_code"] == "malformed"
    client.post("/api/v1/exams/MINI/rankings", headers=committee)
    # One mistyped symbol: the check character catches it.
    typed = list(result["pseudonym"].replace("-", ""))
    typed[0] = "0" if typed[0] != "0" else "1"
    mistyped = client.get("/api/v1/public/rankings/MINI", params={"q": "".join(typed)})
    assert mistyped.status_code == 400
    assert mistyped.json()["code"] == "mistyped"
