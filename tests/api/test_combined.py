"""Final selection from two stages: MINI (max 25) x 40 % + SKB (max 10) x 60 %, worked by hand."""

from __future__ import annotations

import io
import json

import pytest

from app.models.staff import Role
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import proctoring
from tests.support.factory import MiniExam, mini_exam, take_exam

SKB_SPEC = """
code: SKBX
title: Seleksi Kompetensi Bidang
duration_minutes: 10
sections:
  - {code: SKB, name: Kompetensi Bidang, item_count: 2, scoring: {kind: dichotomous, correct: 5}}
formations:
  - {code: F1, agency: Kementerian Contoh, position: Analis, openings: 1, cut_multiplier: 1}
final_tie_breaks:
  - {field: grade_average, order: descending}
  - {field: birth_date, order: ascending}
"""


def skb_exam(db, clock, secret) -> MiniExam:
    items = [
        {
            "code": f"SKB-{i}",
            "section": "SKB",
            "topic": "bidang",
            "stem": f"<p>Soal bidang {i}</p>",
            "scoring": "single",
            "key": "A",
            "options": [{"label": label, "text": f"{label} {i}"} for label in "ABCD"],
        }
        for i in range(4)
    ]
    now = clock.now()
    roster = (
        "nomor_peserta,name,category,formation,grade_average,birth_date\n"
        "2026000001,Peserta 1,-,F1,3.50,1998-01-01\n"
        "2026000002,Peserta 2,-,F1,3.90,1999-01-01\n"
        "2026000003,Peserta 3,-,F1,3.10,1997-01-01\n"
    )
    with db.session() as session:
        bank_service.import_files(
            session,
            [
                bank_service.UploadFile(
                    "skb.json",
                    io.BytesIO(json.dumps({"format": "ujian-bank/1", "items": items}).encode()),
                )
            ],
            actor="t",
            now=now,
        )
        exam_service.define_exam(session, SKB_SPEC, "skb.yaml", actor="t", now=now)
        exam = exam_service.publish_exam(session, "SKBX", actor="t", now=now)
        sitting = exam_service.create_sitting(
            session, exam_code="SKBX", name="SKB", starts_at=now, actor="t", now=now
        )
        pins = exam_service.import_roster(
            session, sitting.id, roster.encode(), "r.csv", secret=secret, actor="t", now=now
        )
        proctoring.open_sitting(session, sitting.id, now=now, actor="t")
    return MiniExam(exam.id, sitting.id, pins)


@pytest.fixture
def committee(staff_headers):
    return staff_headers(Role.COMMITTEE)


def test_final_ranking_weights_stages_and_breaks_ties_by_grade_average(
    client, db, clock, app, committee
):
    mini = mini_exam(db, clock, app.state.secret, candidates=3)
    all_right = {"TWK": "key", "TKP": "key"}
    for nomor in ("2026000001", "2026000002", "2026000003"):
        take_exam(client, mini, nomor, committee, all_right)  # 25 of 25 each
    skb = skb_exam(db, clock, app.state.secret)
    for nomor in ("2026000001", "2026000002"):
        take_exam(
            client, skb, nomor, committee, {"SKB": "key"}
        )  # 10 of 10; 2026000003 never starts
    body = {
        "code": "FINAL-2026",
        "stages": [
            {"exam": "MINI", "weight": 40, "label": "SKD"},
            {"exam": "SKBX", "weight": 60, "label": "SKB"},
        ],
        "publish": True,
    }
    response = client.post("/api/v1/rankings/combined", json=body, headers=committee)
    assert response.status_code == 200, response.text
    assert response.json()["tie_breaks"][:2] == ["SKD", "SKD.TKP"]
    board = client.get("/api/v1/public/rankings/FINAL-2026").json()
    rows = board["formations"][0]["rows"]
    # Both score 25/25 x 40 + 10/10 x 60 = 100, equal on every stage key: the higher grade
    # average (3.90, Peserta 2) ranks first; one opening x 1 keeps only them inside the cut.
    assert [(r["rank"], r["total"], r["status"]) for r in rows] == [
        (1, 100.0, "P/L"),
        (2, 100.0, "P"),
        (None, None, "TH"),
    ]
    text = json.dumps(board)
    assert "2026000002" not in text
    assert "Peserta" not in text
    # The final selection is signed like every published ranking: checkable offline with the
    # public keys alone, and an altered copy is not.
    from app.keys import check_document, public_keys_from_json

    keys = public_keys_from_json(client.get("/api/v1/public/keys").text, "keys")
    [document] = client.get("/api/v1/public/rankings/FINAL-2026/signed").json()
    checked = check_document(document, keys)
    assert checked.valid, checked.reason
    assert checked.body is not None
    assert checked.body["formation"] == board["formations"][0]["formation"]["code"]
    forged = {**document, "payload": document["payload"].replace("100.0", "99.0", 1)}
    assert not check_document(forged, keys).valid


def test_weights_must_add_up_to_100(client, committee, db, clock, app):
    mini_exam(db, clock, app.state.secret, candidates=1)
    response = client.post(
        "/api/v1/rankings/combined",
        json={
            "code": "F",
            "stages": [
                {"exam": "MINI", "weight": 40},
                {"exam": "MINI", "weight": 40, "label": "X"},
            ],
        },
        headers=committee,
    )
    assert response.status_code == 400
    assert "100" in response.json()["detail"]
