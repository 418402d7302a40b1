"""IRT on the server: calibration from finished attempts, adaptive sections, matched forms."""

from __future__ import annotations

import io
import json
import math
import random

import pytest

from app.models.staff import Role
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import proctoring
from tests.support.factory import live_replay, roster_csv

ADAPTIVE_SPEC = """
code: CAT
title: Ujian Adaptif
duration_minutes: 30
sections:
  - code: TWK
    name: Tes Wawasan Kebangsaan
    item_count: 3
    scoring: {kind: dichotomous, correct: 5}
  - code: TIU
    name: Tes Intelegensia Umum
    item_count: 8
    scoring: {kind: dichotomous, correct: 5}
    adaptive: {min_items: 4, se_target: 0.2, randomesque: 3, scale_mean: 500, scale_sd: 100}
categories:
  - code: umum
    minima: {TIU: 450}
"""

MATCHED_SPEC = """
code: PAR
title: Ujian Paralel
duration_minutes: 30
irt_matching: true
sections:
  - code: TIU
    name: Tes Intelegensia Umum
    item_count: 6
    scoring: {kind: dichotomous, correct: 5}
    blueprint: {strata: {easy: 2, medium: 2, hard: 2}}
"""


def irt_bank(twk: int = 6, tiu: int = 40, seed: int = 3) -> bytes:
    """TWK items without IRT parameters, TIU items with (key A for all)."""
    rng = random.Random(seed)
    items = []
    for section, count in (("TWK", twk), ("TIU", tiu)):
        for i in range(count):
            b = -2.5 + 5 * i / max(1, count - 1)
            item = {
                "code": f"{section}-I{i:03d}",
                "section": section,
                "topic": "umum",
                "stem": f"<p>{section} butir {i}</p>",
                "scoring": "single",
                "key": "A",
                "options": [{"label": label, "text": f"{label}{i}"} for label in "ABCD"],
                "p_value": round(min(0.95, max(0.05, 0.5 - b / 6)), 2),
            }
            if section == "TIU":
                item["irt"] = {"a": round(rng.uniform(0.9, 1.8), 2), "b": round(b, 2), "c": 0.0}
            items.append(item)
    return json.dumps({"format": "ujian-bank/1", "items": items}).encode()


def build(db, clock, secret, spec: str, code: str, candidates: int):
    now = clock.now()
    with db.session() as session:
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("irt.json", io.BytesIO(irt_bank()))],
            actor="t",
            now=now,
        )
        assert report.ok, report.errors
        exam_service.define_exam(session, spec, f"{code}.yaml", actor="t", now=now)
        exam_service.publish_exam(session, code, actor="t", now=now)
        sitting = exam_service.create_sitting(
            session, exam_code=code, name="Sesi", starts_at=now, actor="t", now=now
        )
        rows = [(f"77{i:06d}", f"Peserta {i}", "umum", "-") for i in range(candidates)]
        csv = roster_csv(rows).replace(b",-\n", b",X\n")
        pins = exam_service.import_roster(
            session, sitting.id, csv, "r.csv", secret=secret, actor="t", now=now
        )
        proctoring.open_sitting(session, sitting.id, now=now, actor="t")
    return {p.nomor_peserta: p.pin for p in pins}


def login(client, nomor, pin):
    token = client.post("/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": pin}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


@pytest.fixture
def committee(staff_headers):
    return staff_headers(Role.COMMITTEE)


def test_adaptive_section_chooses_items_one_at_a_time_with_no_going_back(
    client, db, clock, app, committee
):
    pins = build(db, clock, app.state.secret, ADAPTIVE_SPEC, "CAT", 2)
    nomor, pin = next(iter(pins.items()))
    headers = login(client, nomor, pin)
    state = client.post("/api/v1/attempts/current/start", headers=headers).json()
    adaptive = [i for i in state["items"] if i["adaptive"]]
    assert [i["section"] for i in state["items"]] == ["TWK"] * 3 + ["TIU"] * 8
    assert adaptive[0]["position"] == 4
    assert adaptive[0]["locked"] is False
    # Positions stay in place: items not chosen yet are placeholders without content.
    assert all(i["pending"] and i["stem"] == "" for i in adaptive[1:])

    replay = live_replay(client, state["attempt_id"])
    keys = {i["position"]: i["key"] for i in replay["items"]}
    position, seq, given = 4, 0, 0
    while position is not None:
        seq += 1
        ack = client.put(
            f"/api/v1/attempts/current/responses/{position}",
            json={"option": keys[position], "flagged": False, "seq": seq},
            headers=headers,
        )
        assert ack.status_code == 200, ack.text
        given += 1
        # The answered item is final: no going back within the section.
        again = client.put(
            f"/api/v1/attempts/current/responses/{position}",
            json={
                "option": "D" if keys[position] != "D" else "C",
                "flagged": False,
                "seq": seq + 100,
            },
            headers=headers,
        )
        assert again.status_code == 409
        assert again.json()["error"] == "AdaptiveLocked"
        next_position = ack.json()["next_position"]
        if next_position is not None:
            replay = live_replay(client, state["attempt_id"])
            keys = {i["position"]: i["key"] for i in replay["items"]}
        position = next_position
    assert 4 <= given <= 8

    during = client.get("/api/v1/attempts/current", headers=headers).json()
    tiu = [i for i in during["items"] if i["section"] == "TIU" and not i["pending"]]
    assert len(tiu) == given
    assert all(i["locked"] for i in tiu)
    # Fixed items still save through the ordinary path.
    assert (
        client.put(
            "/api/v1/attempts/current/responses/1",
            json={"option": "B", "flagged": True, "seq": 999},
            headers=headers,
        ).status_code
        == 200
    )

    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    ).json()
    tiu_score = next(s["score"] for s in finished["result"]["sections"] if s["code"] == "TIU")
    assert tiu_score > 500  # all right: above the population mean
    replayed = client.get(
        f"/api/v1/attempts/{state['attempt_id']}/replay", headers=committee
    ).json()
    assert replayed["matches_served_form"] is True


def test_adaptive_abilities_are_stored_with_the_result(client, db, clock, app):
    from sqlalchemy import select

    from app.models.result import Result

    pins = build(db, clock, app.state.secret, ADAPTIVE_SPEC, "CAT", 1)
    headers = login(client, *next(iter(pins.items())))
    client.post("/api/v1/attempts/current/start", headers=headers)
    client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers)
    with db.read_session() as session:
        abilities = session.scalars(select(Result.abilities)).one()
    tiu = abilities["TIU"]
    assert set(tiu) >= {"theta", "se", "scale_score", "scale_se", "items", "stop_reason"}
    assert tiu["items"] == 0  # nothing answered: the prior
    assert math.isclose(tiu["scale_score"], 500, abs_tol=1)


def test_publishing_an_adaptive_exam_needs_calibrated_items(db, clock):
    from app.errors import Conflict

    bank = json.loads(irt_bank())
    calibrated = 0
    for item in bank["items"]:
        if "irt" in item:
            calibrated += 1
            if calibrated > 5:
                del item["irt"]
    now = clock.now()
    with db.session() as session:
        bank_service.import_files(
            session,
            [bank_service.UploadFile("irt.json", io.BytesIO(json.dumps(bank).encode()))],
            actor="t",
            now=now,
        )
        exam_service.define_exam(session, ADAPTIVE_SPEC, "cat.yaml", actor="t", now=now)
    with (
        pytest.raises(Conflict, match="needs at least 8 items with IRT parameters; the bank has 5"),
        db.session() as session,
    ):
        exam_service.publish_exam(session, "CAT", actor="t", now=now)


def test_irt_matched_forms_are_reproducible(client, db, clock, app, committee):
    pins = build(db, clock, app.state.secret, MATCHED_SPEC, "PAR", 3)
    for nomor, pin in pins.items():
        headers = login(client, nomor, pin)
        state = client.post("/api/v1/attempts/current/start", headers=headers).json()
        assert len(state["items"]) == 6
        replay = live_replay(client, state["attempt_id"])
        assert replay["matches_served_form"] is True
        assert "ujian-irt-forms" in replay["form_seed"]["algorithm"]


def test_calibration_from_finished_attempts(client, db, clock, app, committee):
    """Sixty simulated candidates answer by a 2PL model; calibration is stored and applied."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.models.attempt import Response
    from app.models.bank import ItemVersion
    from app.services import attempts
    from app.services.candidate_tokens import CandidateClaim
    from app.services.throttle import Policy

    spec = MATCHED_SPEC.replace("irt_matching: true\n", "").replace("code: PAR", "code: CAL")
    pins = build(db, clock, app.state.secret, spec, "CAL", 60)
    services = app.state.services
    rng = random.Random(9)
    policy = Policy(5, timedelta(minutes=5), timedelta(minutes=5))
    for nomor, pin in pins.items():
        with db.session() as session:
            entered = attempts.candidate_login(
                session,
                nomor_peserta=nomor,
                pin=pin,
                now=clock.now(),
                client="t",
                secret=services.secret,
                tokens=services.tokens,
                policy=policy,
                address_policy=policy,
            )
        claim = CandidateClaim(entered.attempt_id, entered.generation, 0)
        theta = rng.gauss(0, 1)
        with db.session() as session:
            attempt = attempts.start(session, claim, now=clock.now(), runtimes=services.runtimes)
            runtime = services.runtimes.get(session, attempt.exam_id)
            params = dict(
                zip(runtime.snapshot.ids.tolist(), runtime.snapshot.irt.tolist(), strict=True)
            )
            for position, (item_id, _order) in enumerate(attempt.form, start=1):
                a, b, _c = params[int(item_id)]
                key = runtime.items[int(item_id)].key_index
                right = rng.random() < 1 / (1 + math.exp(-a * (theta - b)))
                session.add(
                    Response(
                        attempt_id=attempt.id,
                        position=position,
                        option=key if right else (key + 1) % 4,
                        flagged=False,
                        seq=position,
                        saved_at=clock.now(),
                    )
                )
        with db.session() as session:
            attempts.finish(
                session,
                claim.attempt_id,
                reason="candidate",
                now=clock.now(),
                actor="t",
                runtimes=services.runtimes,
                secret=services.secret,
                grace=services.grace,
            )
    response = client.post(
        "/api/v1/exams/CAL/calibrations", json={"model": "2pl", "apply": True}, headers=committee
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["candidates"] == 60
    assert body["items"] == len(body["item_estimates"]) > 6
    listed = client.get("/api/v1/exams/CAL/calibrations", headers=committee).json()
    assert listed[0]["id"] == body["id"]
    assert listed[0]["applied_at"] is not None
    with db.read_session() as session:
        calibrated = session.scalars(
            select(ItemVersion.calibration_id).where(ItemVersion.calibration_id.is_not(None))
        ).all()
    assert len(calibrated) == body["items"]


def test_too_few_attempts_to_calibrate(client, db, clock, app, committee):
    build(db, clock, app.state.secret, MATCHED_SPEC.replace("code: PAR", "code: FEW"), "FEW", 2)
    response = client.post(
        "/api/v1/exams/FEW/calibrations", json={"model": "2pl"}, headers=committee
    )
    assert response.status_code == 409
    assert "at least 50" in response.json()["detail"]
