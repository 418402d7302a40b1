"""Practice exams (simulasi): publication rules, the anonymous start on the candidate routes,
limits per client, the review with keys and explanations, exclusion from everything live and
the retention purge."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.clock import Clock
from app.db import Database
from app.main import create_app
from app.models.attempt import Attempt, Response, ResponseEvent
from app.models.practice import PracticeAttempt
from app.models.result import Result
from app.models.sitting import Registration
from app.models.staff import Role
from app.repositories import bank as bank_repo
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import item_analysis, practice
from app.services.calibration import response_matrix
from app.settings import Settings
from item_bank.errors import InvalidInput
from item_bank.exam_spec import parse_exam_spec, spec_from_dict, spec_to_dict
from tests.conftest import TEST_SECRET
from tests.support.factory import mini_exam

PRACTICE_SPEC = """
code: PRAC
title: Simulasi Mini
duration_minutes: 10
practice: true
sections:
  - code: PTWK
    name: Tes Wawasan Kebangsaan
    item_count: 3
    scoring: {kind: dichotomous, correct: 5, wrong: 0, blank: 0}
  - code: PTKP
    name: Tes Karakteristik Pribadi
    item_count: 2
    scoring: {kind: weighted, max_option_points: 5, blank: 0}
categories:
  - code: umum
    minima: {PTWK: 10, PTKP: 6}
"""


def practice_bank(twk: int = 3, tkp: int = 2, section: str = "PTWK") -> bytes:
    items: list[dict[str, Any]] = []
    for i in range(twk):
        items.append(
            {
                "code": f"P{section}-{i:03d}",
                "section": section,
                "topic": "pancasila",
                "stem": f"<p>Soal latihan {i}</p>",
                "key": "A",
                "options": [{"label": label, "text": f"Pilihan {label}"} for label in "ABCD"],
                "explanation": f"<p>Pembahasan soal latihan {i}: kuncinya A.</p>",
            }
        )
    for i in range(tkp):
        items.append(
            {
                "code": f"PTKP-{i:03d}",
                "section": "PTKP",
                "topic": "pelayanan_publik",
                "stem": f"<p>Situasi latihan {i}</p>",
                "scoring": "weighted",
                "options": [
                    {"label": label, "text": f"Sikap {label}", "points": points}
                    for label, points in zip("ABCDE", (5, 4, 3, 2, 1), strict=True)
                ],
                # the second TKP item has no explanation: the review says so
                **({"explanation": "<p>Dahulukan warga.</p>"} if i == 0 else {}),
            }
        )
    return json.dumps({"format": "ujian-bank/1", "items": items}).encode()


def publish_practice(db: Database, clock: Clock, spec: str = PRACTICE_SPEC) -> None:
    with db.session() as session:
        for code in ("PTWK", "PTKP"):
            bank_repo.add_section(session, code, f"Simulasi {code}")
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("practice.json", io.BytesIO(practice_bank()))],
            actor="test",
            now=clock.now(),
        )
        assert report.ok, report.errors
        exam_service.define_exam(session, spec, "prac.yaml", actor="test", now=clock.now())
        exam_service.publish_exam(session, "PRAC", actor="test", now=clock.now())


def start(client: TestClient, code: str = "PRAC") -> dict[str, str]:
    response = client.post(f"/api/v1/practice/exams/{code}/start")
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def sit(client: TestClient, headers: dict[str, str], answers: dict[int, str]) -> dict[str, Any]:
    """Start the clock, answer ``answers`` (position -> letter) and finish."""
    state = client.post("/api/v1/attempts/current/start", headers=headers).json()
    assert state["status"] == "in_progress"
    for seq, (position, letter) in enumerate(sorted(answers.items()), start=1):
        ack = client.put(
            f"/api/v1/attempts/current/responses/{position}",
            json={"option": letter, "flagged": position == 1, "seq": seq},
            headers=headers,
        )
        assert ack.status_code == 200, ack.text
    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    )
    assert finished.status_code == 200, finished.text
    return dict(finished.json())


# --- the spec


def test_spec_practice_flag_round_trips() -> None:
    spec = parse_exam_spec(PRACTICE_SPEC, "prac.yaml")
    assert spec.practice
    assert spec_from_dict(spec_to_dict(spec)) == spec
    assert "practice" not in spec_to_dict(
        parse_exam_spec(PRACTICE_SPEC.replace("practice: true\n", ""), "x.yaml")
    )


def test_spec_practice_that_hides_its_result_is_refused_at_its_line() -> None:
    text = PRACTICE_SPEC.replace("practice: true\n", "practice: true\nshow_result: false\n")
    with pytest.raises(InvalidInput) as raised:
        parse_exam_spec(text, "prac.yaml")
    [problem] = raised.value.problems
    assert problem.field == "show_result"
    assert problem.location.startswith("line 6")
    assert "practice" in problem.message


def test_spec_practice_must_be_a_boolean() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_exam_spec(PRACTICE_SPEC.replace("practice: true", "practice: ya"), "prac.yaml")
    assert any(p.field == "practice" for p in raised.value.problems)


# --- publication


def test_a_practice_exam_sharing_a_live_item_is_refused_naming_the_codes(
    db: Database, clock: Clock
) -> None:
    mini_exam(db, clock, TEST_SECRET.encode())  # publishes MINI from TWK-000...TWK-005
    spec = PRACTICE_SPEC.replace("code: PTWK", "code: TWK")
    spec = spec.replace("{PTWK: 10, PTKP: 6}", "{TWK: 10, PTKP: 6}")
    with pytest.raises(Exception, match="TWK-000") as raised:
        publish_practice(db, clock, spec)
    assert "practice exam may not share items with a live exam" in str(raised.value)


def test_a_live_exam_sharing_a_practice_item_is_refused(db: Database, clock: Clock) -> None:
    publish_practice(db, clock)
    live = PRACTICE_SPEC.replace("practice: true\n", "").replace("code: PRAC", "code: LIVE")
    with db.session() as session, pytest.raises(Exception, match="PPTWK-000") as raised:
        exam_service.define_exam(session, live, "live.yaml", actor="test", now=clock.now())
        exam_service.publish_exam(session, "LIVE", actor="test", now=clock.now())
    assert "live exam may not share items with a practice exam" in str(raised.value)


# --- listing, start, the same candidate routes, review


def test_listed_publicly_and_sat_on_the_candidate_routes(
    client: TestClient, db: Database, clock: Clock
) -> None:
    mini_exam(db, clock, TEST_SECRET.encode())
    publish_practice(db, clock)
    listed = client.get("/api/v1/practice/exams").json()["exams"]
    assert [e["code"] for e in listed] == ["PRAC"]  # the live MINI is not listed
    assert listed[0]["items"] == 5
    assert listed[0]["duration_minutes"] == 10

    headers = start(client)
    running = client.get("/api/v1/attempts/current", headers=headers).json()
    # Begun by the practice start itself: the screen opens on the first item, clock running.
    assert running["status"] == "in_progress"
    assert running["nomor_peserta"] == f"SIMULASI-{running['attempt_id']}"
    assert running["name"] == ""
    assert running["duration_seconds"] == 600
    assert 595 <= running["remaining_seconds"] <= 600
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Registration)) == 3  # MINI's only

    # The screen's start is then a reload: the same form, nothing drawn again.
    again = client.post("/api/v1/attempts/current/start", headers=headers).json()
    assert [i["stem"] for i in again["items"]] == [i["stem"] for i in running["items"]]
    payload = json.dumps(running)
    assert "Pembahasan" not in payload
    assert "explanation" not in payload
    assert '"points"' not in payload
    assert '"key"' not in payload
    sections = [item["section"] for item in running["items"]]
    assert sections == ["PTWK"] * 3 + ["PTKP"] * 2

    # Answers travel the live answer path (the group-commit writer): position 1 right,
    # position 2 wrong, position 3 blank, the TKP items on their 5- and 1-point options.
    review_before = client.get("/api/v1/practice/attempts/current/review", headers=headers)
    assert review_before.status_code == 409
    answers: dict[int, str] = {}
    # Which shown letter is the key: the bank labels its options "Pilihan A" ... (key A) and
    # "Sikap A" (5 points) ... "Sikap E" (1 point).
    for item in running["items"]:
        texts = {o["text"]: o["id"] for o in item["options"]}
        if item["position"] == 1:
            answers[1] = texts["Pilihan A"]
        elif item["position"] == 2:
            answers[2] = texts["Pilihan B"]
        elif item["position"] == 4:
            answers[4] = texts["Sikap A"]
        elif item["position"] == 5:
            answers[5] = texts["Sikap E"]
    result_state = sit_started(client, headers, answers)
    assert result_state["status"] == "finished"
    result = result_state["result"]
    assert result["total"] == 5 + 5 + 1
    assert result["passed"] is False  # PTWK 5 < 10

    review = client.get("/api/v1/practice/attempts/current/review", headers=headers)
    assert review.status_code == 200, review.text
    body = review.json()
    assert body["score"]["total"] == 11
    assert [r["passed"] for r in body["score"]["rules"]] == [False, True]
    items = {i["position"]: i for i in body["items"]}
    assert items[1]["answer"] == answers[1]
    assert items[1]["key"] == answers[1]
    assert items[1]["correct"] is True
    assert items[1]["points"] == 5
    assert items[2]["correct"] is False
    assert items[2]["points"] == 0
    assert items[2]["key"] != items[2]["answer"]
    assert items[3]["answer"] is None
    assert items[3]["correct"] is False
    assert "kuncinya A" in items[1]["explanation"]
    assert items[4]["key"] is None
    assert items[4]["points"] == 5
    assert sorted(o["points"] for o in items[4]["options"]) == [1, 2, 3, 4, 5]
    tkp_explanations = sorted(str(items[p]["explanation"]) for p in (4, 5))
    assert tkp_explanations == ["<p>Dahulukan warga.</p>", "None"]


def sit_started(
    client: TestClient, headers: dict[str, str], answers: dict[int, str]
) -> dict[str, Any]:
    """Answer ``answers`` on a running attempt (position 1 marked ragu-ragu) and finish."""
    for seq, (position, letter) in enumerate(sorted(answers.items()), start=1):
        ack = client.put(
            f"/api/v1/attempts/current/responses/{position}",
            json={"option": letter, "flagged": position == 1, "seq": seq},
            headers=headers,
        )
        assert ack.status_code == 200, ack.text
        assert ack.json()["flagged"] is (position == 1)
    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    )
    assert finished.status_code == 200, finished.text
    return dict(finished.json())


def test_review_is_refused_to_a_live_candidate(
    client: TestClient, db: Database, clock: Clock
) -> None:
    exam = mini_exam(db, clock, TEST_SECRET.encode())
    nomor = exam.pins[0].nomor_peserta
    token = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/attempts/current/start", headers=headers)
    client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers)
    refused = client.get("/api/v1/practice/attempts/current/review", headers=headers)
    assert refused.status_code == 404
    assert refused.json()["error"] == "NotFound"
    assert client.get("/api/v1/practice/attempts/current/review").status_code == 401


def test_a_live_exam_cannot_be_started_as_practice(
    client: TestClient, db: Database, clock: Clock
) -> None:
    mini_exam(db, clock, TEST_SECRET.encode())
    refused = client.post("/api/v1/practice/exams/MINI/start")
    assert refused.status_code == 404
    assert client.post("/api/v1/practice/exams/NOPE/start").status_code == 404


# --- anonymous and limited


def limited_client(settings: Settings, db: Database, clock: Clock, **limits: object) -> TestClient:
    app = create_app(settings.model_copy(update=limits), db=db, clock=clock)
    return TestClient(app)


def test_starts_per_window_are_limited_with_retry_after(
    settings: Settings, db: Database, clock: Clock
) -> None:
    publish_practice(db, clock)
    with limited_client(
        settings,
        db,
        clock,
        practice_starts_per_window=2,
        practice_start_window_seconds=600,
        practice_running_per_client=10,
    ) as client:
        start(client)
        clock.advance(timedelta(seconds=100))
        start(client)
        refused = client.post("/api/v1/practice/exams/PRAC/start")
        assert refused.status_code == 429
        body = refused.json()
        assert body["error"] == "TooManyRequests"
        # the first start leaves the window 500 s from now
        assert body["retry_after"] == 500
        assert refused.headers["Retry-After"] == "500"
        clock.advance(timedelta(seconds=501))
        start(client)


def test_running_attempts_per_client_are_limited(
    settings: Settings, db: Database, clock: Clock
) -> None:
    publish_practice(db, clock)
    with limited_client(
        settings, db, clock, practice_running_per_client=1, practice_starts_per_window=50
    ) as client:
        headers = start(client)
        refused = client.post("/api/v1/practice/exams/PRAC/start")
        assert refused.status_code == 429
        assert "finish one first" in refused.json()["detail"]
        assert refused.json()["retry_after"] == 60
        sit(client, headers, {})
        start(client)  # the finished one no longer counts


def test_starts_per_second_are_limited_before_the_database(
    settings: Settings, db: Database, clock: Clock
) -> None:
    publish_practice(db, clock)
    with limited_client(
        settings, db, clock, practice_starts_per_second=1.0, practice_running_per_client=10
    ) as client:
        start(client)
        refused = client.post("/api/v1/practice/exams/PRAC/start")
        assert refused.status_code == 429
        assert "try again" in refused.json()["detail"]
        assert 1 <= refused.json()["retry_after"] <= 10
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(PracticeAttempt)) == 1


def test_the_installation_wide_maximum(settings: Settings, db: Database, clock: Clock) -> None:
    publish_practice(db, clock)
    with limited_client(settings, db, clock, practice_max_running=1) as client:
        start(client)
        refused = client.post("/api/v1/practice/exams/PRAC/start")
        assert refused.status_code == 429
        assert "full" in refused.json()["detail"]


def test_a_practice_attempt_stores_no_personal_data_nor_the_address(
    client: TestClient, db: Database, clock: Clock
) -> None:
    publish_practice(db, clock)
    headers = start(client)
    sit(client, headers, {})
    with db.session() as session:
        attempt = session.scalars(select(Attempt)).one()
        assert attempt.registration_id is None
        row = session.scalars(select(PracticeAttempt)).one()
        assert row.client_key == practice.client_key(TEST_SECRET.encode(), "testclient")
        assert "testclient" not in row.client_key
        assert session.scalar(select(func.count()).select_from(Registration)) == 0


# --- never in anything live


def test_never_in_item_analysis_calibration_live_board_or_corrections(
    client: TestClient,
    db: Database,
    clock: Clock,
    staff_headers: Any,
) -> None:
    publish_practice(db, clock)
    for _ in range(2):
        sit(client, start(client), {1: "A", 2: "A", 3: "A"})
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Result)) == 2
        with pytest.raises(Exception, match="no finished attempts"):
            item_analysis.analyse_exam(session, "PRAC")
        _exam, _items, matrix = response_matrix(session, "PRAC")
        assert matrix.shape[0] == 0
        sitting_id = session.scalars(select(Attempt.sitting_id)).first()
    board = client.get(f"/api/v1/public/live/{sitting_id}/board")
    assert board.status_code == 200
    assert board.json()["rows"] == []
    committee = staff_headers(Role.COMMITTEE)
    dry_run = client.post(
        "/api/v1/exams/PRAC/corrections/dry-run",
        json={"item_code": "PPTWK-000", "kind": "annul", "mode": "award_all", "reason": "uji"},
        headers=committee,
    )
    assert dry_run.status_code == 200, dry_run.text
    # Two finished practice attempts hold the item: a correction never reaches them.
    assert dry_run.json()["attempts_with_item"] == 0
    assert dry_run.json()["attempts"] == []


def test_a_live_board_never_shows_a_practice_attempt(
    client: TestClient, db: Database, clock: Clock
) -> None:
    exam = mini_exam(db, clock, TEST_SECRET.encode())
    publish_practice(db, clock)
    sit(client, start(client), {1: "A"})
    board = client.get(f"/api/v1/public/live/{exam.sitting_id}/board").json()
    assert board["rows"] == []


# --- retention


def test_purge_after_retention_with_the_controllable_clock(
    client: TestClient, db: Database, clock: Clock
) -> None:
    publish_practice(db, clock)
    old = start(client)
    sit(client, old, {1: "A", 2: "B"})
    clock.advance(timedelta(hours=23))
    running = start(client)
    client.post("/api/v1/attempts/current/start", headers=running)
    retention = timedelta(hours=24)
    with db.session() as session:
        assert practice.purge(session, now=clock.now(), retention=retention) == 0
    clock.advance(timedelta(hours=2))
    with db.session() as session:
        assert practice.purge(session, now=clock.now(), retention=retention) == 1
    with db.session() as session:
        remaining = session.scalars(select(Attempt)).all()
        assert len(remaining) == 1
        assert remaining[0].status == "in_progress"
        for model in (Response, ResponseEvent, Result):
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(model)
                    .where(model.attempt_id != remaining[0].id)
                )
                == 0
            )
