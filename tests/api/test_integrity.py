"""Integrity report, exports, committee decisions and DIF, on a sitting with a planted copier.

ROOM: 16 candidates in seats 1-16 (rows of 4) answer 30 five-option items (key A) at a human
pace; the candidate in seat 8 copies every answer of seat 7, right and wrong alike, and has
their attempt paused twice. Honest
candidates' answers are drawn from a seeded generator, so the copier's 30-of-30 agreement with
its neighbour (wrong answers included) is far beyond chance and nobody else's is.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models.audit import AuditEvent
from app.models.staff import Role
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import integrity as integrity_service
from app.services import proctoring
from tests.support.factory import bank_json

ROOM_SPEC = """
code: ROOM
title: Ujian Ruang
duration_minutes: 120
shuffle_items: true
shuffle_options: true
show_result: true
sections:
  - code: TWK
    name: Tes Wawasan Kebangsaan
    item_count: 30
    scoring: {kind: dichotomous, correct: 5, wrong: 0, blank: 0}
categories:
  - code: umum
    minima: {TWK: 100}
tie_breaks: [TWK]
formations:
  - {code: F1, agency: Kementerian Contoh, position: Analis, openings: 3}
"""
CANDIDATES = 16
ITEMS = 30
SOURCE_SEAT, COPIER_SEAT = 7, 8


def nomor(seat: int) -> str:
    return f"2026{seat:06d}"


def room_roster() -> bytes:
    lines = ["nomor_peserta,name,category,formation,kursi,wilayah,jenis_kelamin"]
    for seat in range(1, CANDIDATES + 1):
        region = "jawa" if seat % 2 else "luar_jawa"
        lines.append(f"{nomor(seat)},Peserta {seat},umum,F1,{seat},{region},{'LP'[seat % 2]}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def committee(staff_headers):
    return staff_headers(Role.COMMITTEE)


def build_room(db, clock, secret: bytes) -> tuple[int, dict[str, str]]:
    """ROOM published, its sitting open with the seated roster; (sitting id, PIN by nomor)."""
    now = clock.now()
    with db.session() as session:
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("bank.json", io.BytesIO(bank_json(twk=ITEMS, tkp=0)))],
            actor="test",
            now=now,
        )
        assert report.ok, report.errors
        exam_service.define_exam(session, ROOM_SPEC, "room.yaml", actor="test", now=now)
        exam_service.publish_exam(session, "ROOM", actor="test", now=now)
        sitting = exam_service.create_sitting(
            session, exam_code="ROOM", name="Sesi Ruang", starts_at=now, actor="test", now=now
        )
        pins = exam_service.import_roster(
            session,
            sitting.id,
            room_roster(),
            "roster.csv",
            secret=secret,
            actor="test",
            now=now,
        )
        proctoring.open_sitting(session, sitting.id, now=now, actor="test")
    return sitting.id, {p.nomor_peserta: p.pin for p in pins}


@pytest.fixture
def room(db, clock, app):
    return build_room(db, clock, app.state.secret)


def code_of(item: dict) -> str:
    """The bank code of an item as the candidate sees it (the factory's stems number them)."""
    number = int(item["stem"].split("nomor ")[1].split("<")[0])
    return f"TWK-{number:03d}"


def sit_room(client, db, clock, committee, pins) -> dict[int, int]:
    """Every candidate logs in and starts; answers go in rounds (one item each per round, a
    human 20-70 s apart), choosing options by the bank label their text carries; returns
    attempt id by seat."""
    rng = random.Random(20)
    sessions = {}
    for seat in range(1, CANDIDATES + 1):
        token = client.post(
            "/api/v1/candidate/login", json={"nomor_peserta": nomor(seat), "pin": pins[nomor(seat)]}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        state = client.post("/api/v1/attempts/current/start", headers=headers).json()
        sessions[seat] = (state["attempt_id"], headers, state["items"])
    # Labels by item code: each honest candidate has an ability; the copier takes the source's.
    labels: dict[int, dict[str, str]] = {}
    for seat in range(1, CANDIDATES + 1):
        ability = rng.uniform(0.3, 0.8)
        codes = [code_of(item) for item in sessions[seat][2]]
        labels[seat] = {
            code: "A" if rng.random() < ability else rng.choice("BCDE") for code in codes
        }
    labels[COPIER_SEAT] = dict(labels[SOURCE_SEAT])
    for round_index in range(ITEMS):
        clock.advance(timedelta(seconds=rng.uniform(20, 70)))
        for seat, (_attempt, headers, items) in sessions.items():
            item = items[round_index]
            wanted = f"Pilihan {labels[seat][code_of(item)]} "
            letter = next(o["id"] for o in item["options"] if o["text"].startswith(wanted))
            ack = client.put(
                f"/api/v1/attempts/current/responses/{item['position']}",
                json={"option": letter, "flagged": False, "seq": round_index + 1},
                headers=headers,
            )
            assert ack.status_code == 200, ack.text
    # The copier's attempt was paused twice along the way (the audit records each pause).
    for _ in range(2):
        with db.session() as session:
            proctoring.pause_attempt(
                session, sessions[COPIER_SEAT][0], now=clock.now(), actor="test", reason="PC mati"
            )
        with db.session() as session:
            proctoring.resume_attempt(
                session, sessions[COPIER_SEAT][0], now=clock.now(), actor="test", reason="lanjut"
            )
    for _attempt, headers, _items in sessions.values():
        done = client.post(
            "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
        )
        assert done.status_code == 200, done.text
    return {seat: attempt for seat, (attempt, _h, _i) in sessions.items()}


@pytest.fixture
def sat(client, db, clock, committee, room):
    sitting_id, pins = room
    return sitting_id, sit_room(client, db, clock, committee, pins)


def test_the_copier_is_ranked_first_with_its_neighbour_named_by_seat(client, committee, sat, db):
    sitting_id, attempts = sat
    response = client.get(
        f"/api/v1/exams/ROOM/integrity?sitting={sitting_id}&row_length=4", headers=committee
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["attempts_analysed"] == CANDIDATES
    assert report["items"] == ITEMS
    top = report["flagged"][0]
    # The copier is first: similar to its neighbour and paused twice; similarity flags the pair
    # (it cannot tell who copied from whom), and nobody else is similar.
    pair = {attempts[SOURCE_SEAT], attempts[COPIER_SEAT]}
    assert top["attempt_id"] == attempts[COPIER_SEAT]
    assert top["seat"] == COPIER_SEAT
    assert {f["code"] for f in top["flags"]} >= {"similar_neighbour", "pauses"}
    similar = [
        a for a in report["flagged"] if "similar_neighbour" in {f["code"] for f in a["flags"]}
    ]
    assert {a["attempt_id"] for a in similar} == pair
    flag = next(f for f in top["flags"] if f["code"] == "similar_neighbour")
    other_seat = SOURCE_SEAT
    assert flag["figures"]["matches"] == ITEMS
    assert f"kursi {other_seat}" in flag["reason_id"]
    assert f"seat {other_seat}" in flag["reason_en"]
    assert "row" not in flag["reason_en"].split("seat")[0]
    assert top["replay_url"] == f"/api/v1/attempts/{top['attempt_id']}/replay"
    assert top["time_strip_svg"].startswith("<svg")
    assert "<svg" in report["room_map_svg"]
    assert top["decision"] is None
    # Reading the evidence is itself on the record: who, when, which flagged attempts.
    export = client.get(
        f"/api/v1/exams/ROOM/integrity/export?sitting={sitting_id}&format=csv", headers=committee
    )
    assert export.status_code == 200
    with db.read_session() as session:
        views = [
            (v.chain, v.actor, json.loads(v.payload))
            for v in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == integrity_service.REPORT_VIEWED)
                .order_by(AuditEvent.id)
            )
        ]
    assert [(chain, payload["export"]) for chain, _actor, payload in views] == [
        (f"sitting:{sitting_id}", None),
        (f"sitting:{sitting_id}", "csv"),
    ]
    assert all(actor.startswith("staff:") for _chain, actor, _payload in views)
    assert views[0][2]["flagged"] == [a["attempt_id"] for a in report["flagged"]]


def test_the_html_report_lists_the_copier_first_with_its_reason(db, sat):
    from app.reports.integrity_report import render_integrity_report_html

    sitting_id, _attempts = sat
    with db.session() as session:
        found = integrity_service.integrity_report(
            session, "ROOM", sitting_id=sitting_id, row_length=4
        )
    html = render_integrity_report_html(found, "id")
    assert html.index(nomor(COPIER_SEAT)) < html.index(nomor(SOURCE_SEAT))
    assert f"sama dengan peserta di kursi {SOURCE_SEAT}" in html
    assert "identical to the candidate in seat" in html  # the English reason beside it

    # The item report carries DIF by every roster field with two groups or more (here region
    # and gender; everyone is in category umum), with the groups' sizes.
    from app.reports.item_report import render_item_report_html
    from app.services import item_analysis

    with db.session() as session:
        _runtime, analysis = item_analysis.analyse_exam(session, "ROOM")
        dif = item_analysis.dif_reports(session, "ROOM")
    assert [d.group_field for d in dif] == ["region", "gender"]
    items_html = render_item_report_html(analysis, "Ujian Ruang", dif=dif)
    assert "By region: reference jawa" in items_html
    assert "Groups: jawa 8, luar_jawa 8" in items_html
    assert '<a href="#dif">' in items_html


def test_exports_carry_every_flag_and_a_decision_is_stored_audited_and_shown(
    client, committee, sat, db
):
    sitting_id, attempts = sat
    base = f"/api/v1/exams/ROOM/integrity/export?sitting={sitting_id}&row_length=4"
    as_csv = client.get(base + "&format=csv", headers=committee)
    assert as_csv.status_code == 200
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    copier_rows = [r for r in rows if int(r["attempt_id"]) == attempts[COPIER_SEAT]]
    assert "similar_neighbour" in {r["flag"] for r in copier_rows}
    assert all(r["reason_id"] and r["reason_en"] for r in rows)

    as_xlsx = client.get(base + "&format=xlsx", headers=committee)
    assert as_xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(integrity_service.EXPORT_COLUMNS)
    assert len(values) == len(rows) + 1

    as_json = client.get(base + "&format=json", headers=committee)
    assert as_json.status_code == 200
    body = json.loads(as_json.content)
    assert body["flagged"][0]["attempt_id"] == int(rows[0]["attempt_id"])

    # The committee decides (the newest decision stands); both stay on the audit chain.
    copier = attempts[COPIER_SEAT]
    path = f"/api/v1/attempts/{copier}/integrity-decision"
    first = client.post(
        path, json={"decision": "referred", "reason": "periksa CCTV"}, headers=committee
    )
    assert first.status_code == 200, first.text
    second = client.post(
        path,
        json={"decision": "disqualified_by_committee", "reason": "rekaman CCTV: menyalin"},
        headers=committee,
    )
    assert second.json()["decision"] == "disqualified_by_committee"
    report = client.get(
        f"/api/v1/exams/ROOM/integrity?sitting={sitting_id}&row_length=4", headers=committee
    ).json()
    entry = next(a for a in report["flagged"] if a["attempt_id"] == copier)
    assert entry["decision"]["decision"] == "disqualified_by_committee"
    assert entry["decision"]["reason"] == "rekaman CCTV: menyalin"
    with db.session() as session:
        events = session.scalars(
            select(AuditEvent).where(
                AuditEvent.chain == f"attempt:{copier}", AuditEvent.action == "integrity.decision"
            )
        ).all()
    assert [json.loads(e.payload)["decision"] for e in events] == [
        "referred",
        "disqualified_by_committee",
    ]


def test_a_decision_needs_a_known_verdict_and_an_existing_attempt(client, committee):
    bad = client.post(
        "/api/v1/attempts/1/integrity-decision",
        json={"decision": "guilty", "reason": "no"},
        headers=committee,
    )
    assert bad.status_code == 422
    missing = client.post(
        "/api/v1/attempts/999999/integrity-decision",
        json={"decision": "cleared", "reason": "tidak ada"},
        headers=committee,
    )
    assert missing.status_code == 404


def test_dif_by_group_and_item_views_as_response_times(client, committee, sat, db):
    _sitting, attempts = sat
    response = client.get("/api/v1/exams/ROOM/dif?group=region", headers=committee)
    assert response.status_code == 200, response.text
    dif = response.json()
    assert dif["group_sizes"] == {"jawa": 8, "luar_jawa": 8}
    # 8 candidates per group is far below the focal minimum: reported, not hidden.
    assert dif["small_sample"] == [dif["items"][0]["focal"]]
    assert len(dif["items"]) == ITEMS
    assert all(i["dif_class"] in {"A", "B", "C"} for i in dif["items"])
    assert all(
        i["correction_url"].startswith("/committee/corrections?exam=ROOM") for i in dif["items"]
    )
    unknown = client.get("/api/v1/exams/ROOM/dif?group=region&reference=bali", headers=committee)
    assert unknown.status_code == 422
    assert "bali" in unknown.text
    # The committee console's item report carries the same DIF section as `ujian report items`.
    page = client.get("/api/v1/exams/ROOM/item-report", headers=committee)
    assert page.status_code == 200, page.text
    assert '<a href="#dif">' in page.text

    # A view reported 3 s before an item's first answer makes that item's time 3 s, not the
    # gap since the previous answer.
    attempt = attempts[1]
    with db.session() as session:
        events = list(integrity_service.repo.answer_events(session, [attempt]))
        _a, position, _o, answered_at = events[5]
        kept = integrity_service.record_views(
            session, attempt, [[position, 3000], [position + 1, 0]], now=answered_at
        )
        assert kept == 2
    with db.session() as session:
        data = integrity_service._load(session, "ROOM", None)
        runtime = data.runtime
        row = next(i for i, r in enumerate(data.rows) if r.attempt_id == attempt)
        entry = data.rows[row].form.entries[position - 1]
        assert entry is not None
        assert data.times[row, runtime.row_of[entry.item_id]] == pytest.approx(3.0)


def test_roster_seats_and_groups_are_checked_with_their_row(client, committee, room):
    sitting_id, _pins = room
    bad = (
        "nomor_peserta,name,category,formation,kursi,wilayah\n"
        "2026900001,A,umum,F1,0,jawa\n"
        "2026900002,B,umum,F1,3,jawa\n"
        "2026900003,C,umum,F1,30,jawa\n"
        "2026900004,D,umum,F1,30," + "x" * 70 + "\n"
    ).encode()
    response = client.post(
        f"/api/v1/sittings/{sitting_id}/roster",
        files={"file": ("roster.csv", bad, "text/csv")},
        headers=committee,
    )
    assert response.status_code == 422
    text = response.text
    assert "row 2" in text
    assert "seat number from 1" in text
    assert "seat 30 is given twice (also row 4)" in text
    assert "longer than 64" in text
    taken = client.post(
        f"/api/v1/sittings/{sitting_id}/roster",
        files={
            "file": (
                "roster.csv",
                b"nomor_peserta,name,category,formation,kursi\n2026900005,E,umum,F1,3\n",
                "text/csv",
            )
        },
        headers=committee,
    )
    assert taken.status_code == 422
    assert "seat 3 is already taken by 2026000003" in taken.text


def test_views_ride_on_saves_stamped_with_server_time_and_stored_once(
    client, db, clock, app, committee
):
    from app.models.integrity import ItemViewBatch
    from tests.support.factory import mini_exam

    exam = mini_exam(db, clock, app.state.secret, candidates=1)
    nomor_peserta = exam.pins[0].nomor_peserta
    token = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": nomor_peserta, "pin": exam.pin_of(nomor_peserta)},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/attempts/current/start", headers=headers)
    body = {"option": "A", "seq": 1, "views": [[1, 9000], [2, 4000], [1, 0]]}
    before = clock.now()
    assert client.put("/api/v1/attempts/current/responses/1", json=body, headers=headers).is_success
    # The same save resent (its acknowledgement was lost) stores no second batch...
    assert client.put("/api/v1/attempts/current/responses/1", json=body, headers=headers).is_success
    # ...and a save without views stores none.
    plain = {"option": "B", "seq": 2}
    assert client.put(
        "/api/v1/attempts/current/responses/2", json=plain, headers=headers
    ).is_success
    with db.session() as session:
        batches = session.scalars(select(ItemViewBatch)).all()
        assert [b.views for b in batches] == [[[1, 9000], [2, 4000], [1, 0]]]
        # Stamped with the server's time of the save that carried it.
        assert before <= batches[0].received_at <= clock.now()

    # The replay shows when each item was shown, next to when it was answered.
    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    )
    assert finished.status_code == 200, finished.text
    replay = client.get(f"/api/v1/attempts/{batches[0].attempt_id}/replay", headers=committee)
    items = {item["position"]: item for item in replay.json()["items"]}
    stamp = batches[0].received_at
    shown_1 = [datetime.fromisoformat(at) for at in items[1]["shown_at"]]
    assert shown_1 == [stamp - timedelta(seconds=9), stamp]
    assert [datetime.fromisoformat(at) for at in items[2]["shown_at"]] == [
        stamp - timedelta(seconds=4)
    ]
    assert items[3]["shown_at"] == []
    assert len(items[1]["history"]) == 1


def test_the_heartbeat_sends_views_no_save_carried_only_while_the_attempt_runs(
    client, db, clock, app
):
    from app.models.integrity import ItemViewBatch
    from tests.support.factory import mini_exam

    exam = mini_exam(db, clock, app.state.secret, candidates=1)
    nomor_peserta = exam.pins[0].nomor_peserta
    token = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": nomor_peserta, "pin": exam.pin_of(nomor_peserta)},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/attempts/current/start", headers=headers)
    sent = client.post(
        "/api/v1/attempts/current/views", json={"views": [[2, 2500], [3, 0]]}, headers=headers
    )
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"stored": 2}
    too_many = client.post(
        "/api/v1/attempts/current/views", json={"views": [[1, 0]] * 65}, headers=headers
    )
    assert too_many.status_code == 422
    client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers)
    late = client.post("/api/v1/attempts/current/views", json={"views": [[1, 0]]}, headers=headers)
    assert late.status_code == 409
    with db.session() as session:
        assert [b.views for b in session.scalars(select(ItemViewBatch))] == [[[2, 2500], [3, 0]]]


def test_forms_are_compared_by_expected_score_when_the_items_have_irt_parameters(
    client, db, clock, app, committee
):
    from sqlalchemy import update

    from app.models.bank import ItemVersion
    from tests.support.factory import mini_exam

    exam = mini_exam(db, clock, app.state.secret, candidates=8)
    with db.session() as session:
        ids = session.scalars(select(ItemVersion.id).order_by(ItemVersion.id)).all()
        for k, item_id in enumerate(ids):
            # Difficulties spread from -2 to +2.5: forms drawing different items differ.
            session.execute(
                update(ItemVersion)
                .where(ItemVersion.id == item_id)
                .values(irt_a=1.0, irt_b=-2.0 + 0.5 * k, irt_c=0.0)
            )
    for pin in exam.pins:
        token = client.post(
            "/api/v1/candidate/login", json={"nomor_peserta": pin.nomor_peserta, "pin": pin.pin}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        client.post("/api/v1/attempts/current/start", headers=headers)
        done = client.post(
            "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
        )
        assert done.status_code == 200, done.text
    report = client.get("/api/v1/exams/MINI/integrity", headers=committee).json()
    forms = report["forms"]
    assert len(forms) >= 2
    assert sum(f["attempts"] for f in forms) == 8
    # F1 (the most common form) is the reference: no difference with itself; another differs.
    assert forms[0]["form"] == "F1"
    assert forms[0]["max_abs_difference"] == 0
    assert max(f["max_abs_difference"] for f in forms[1:]) > 0
    assert all(f["items"] == 5 for f in forms)
