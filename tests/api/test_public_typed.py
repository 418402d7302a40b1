"""The proctor's and the public's JSON bodies are described by ``/openapi.json`` and stay
exactly what clients read: the same keys, the same value types and the same text formats.

Each body is reduced to its *shape*: every key kept, every value replaced by its JSON type, and
timestamps by the format they are written in (``iso`` for ``2026-12-02T08:00:00Z``, ``text``
for Python's ``2026-12-02 08:00:00+00:00``). A change of a key, a type or a timestamp format
fails here; values that vary from run to run (times, pseudonyms, codes) do not.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.models.staff import Role
from app.services import exams as exam_service
from tests.support.factory import mini_exam, take_exam

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
TEXT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d)?$")
ALL_KEY = {"TWK": "key", "TKP": "key"}
WEAK_TWK = {"TWK": "wrong", "TKP": "key"}


def shape(value: Any) -> Any:
    """Keys kept, leaves replaced by their JSON type (timestamps by their format)."""
    if isinstance(value, dict):
        return {key: shape(v) for key, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if value is None:
        return None
    if ISO.match(value):
        return "iso"
    if TEXT.match(value):
        return "text"
    return "str"


@pytest.fixture
def committee(staff_headers):
    return staff_headers(Role.COMMITTEE)


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=3)


@pytest.fixture
def proctor(client, exam, make_staff, db, clock):
    username, password = make_staff(Role.PROCTOR, None)
    with db.session() as session:
        exam_service.assign_proctor(
            session, exam.sitting_id, username, actor="test", now=clock.now()
        )
    token = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture
def finished(client, exam, committee):
    """Two candidates finished (one passes, one fails TWK), the third never logged in."""
    return [
        take_exam(client, exam, "2026000001", committee, ALL_KEY),
        take_exam(client, exam, "2026000002", committee, WEAK_TWK),
    ]


def test_seats_body(client, exam, proctor, finished):
    body = client.get(f"/api/v1/sittings/{exam.sitting_id}/seats", headers=proctor).json()
    assert body["counts"] == {"finished": 2, "absent": 1}
    seat = {
        "seat": "int",
        "nomor_peserta": "str",
        "name": "str",
        "attempt_id": "int",
        "status": "str",
        "answered": "int",
        "items": "int",
        "remaining_seconds": None,
        "extra_minutes": "int",
        "credit_minutes": "int",
        "last_seen_at": "iso",
        "devices": "int",
        "paused_by": None,
        "login_locked_until": None,  # set only while wrong PINs lock the candidate out
        "login_locked_from": [],
    }
    absent = {**seat, "attempt_id": None, "last_seen_at": None}
    assert shape(body) == {
        "sitting": {
            "id": "int",
            "name": "str",
            "status": "str",
            "site": "str",
            "room": "str",
            "starts_at": "iso",
            "timezone": "str",
        },
        "counts": {"finished": "int", "absent": "int"},
        "seats": [seat, seat, absent],
        "server_time": "iso",
    }
    assert [s["items"] for s in body["seats"]] == [5, 5, 0]
    assert [s["status"] for s in body["seats"]] == ["finished", "finished", "absent"]


def test_my_sittings_body(client, exam, proctor):
    body = client.get("/api/v1/proctor/sittings", headers=proctor).json()
    assert shape(body) == [
        {
            "id": "int",
            "name": "str",
            "site": "str",
            "room": "str",
            "status": "str",
            "starts_at": "iso",
            "starts_local": "str",
        }
    ]
    assert body[0]["id"] == exam.sitting_id
    assert body[0]["status"] == "open"


def test_public_ranking_body(client, exam, committee, finished):
    assert client.post("/api/v1/exams/MINI/rankings", headers=committee).status_code == 200
    body = client.get("/api/v1/public/rankings/MINI").json()
    row = {"rank": "int", "pseudonym": "str", "status": "str", "total": "float"}
    assert shape(body) == {
        "exam": {"code": "str", "title": "str", "version": "int"},
        "sections": [{"code": "str", "name": "str"}, {"code": "str", "name": "str"}],
        "query": None,
        "formations": [
            {
                "formation": {
                    "code": "str",
                    "agency": "str",
                    "position": "str",
                    "openings": "int",
                    "cut": "int",
                },
                "snapshot": {
                    "number": "int",
                    "published_at": "text",
                    "content_hash": "str",
                    "signature": "str",
                    "cause": "str",
                    "supersedes": "bool",
                    "changes": [],
                },
                "rows": [
                    {**row, "sections": {"TWK": "float", "TKP": "float"}},
                    {**row, "rank": None, "sections": {"TWK": "float", "TKP": "float"}},
                    {**row, "rank": None, "total": None, "sections": {}},
                ],
            }
        ],
    }
    assert [r["status"] for r in body["formations"][0]["rows"]] == ["P/L", "T/L", "TH"]
    found = client.get(
        "/api/v1/public/rankings/MINI", params={"q": finished[0]["result"]["pseudonym"]}
    ).json()
    assert found["query"] == finished[0]["result"]["pseudonym"]
    assert [r["pseudonym"] for r in found["formations"][0]["rows"]] == [
        finished[0]["result"]["pseudonym"]
    ]


def test_slip_body(client, finished):
    body = client.get(f"/api/v1/public/slips/{finished[0]['result']['slip_code']}").json()
    rule = {"label": "str", "value": "float", "minimum": "float", "passed": "bool", "text": "str"}
    section = {"code": "str", "name": "str", "score": "float", "max": "float"}
    assert shape(body) == {
        "authentic": "bool",
        "reason": "str",
        "reason_code": "str",
        "slip": {
            "exam": {"code": "str", "title": "str"},
            "pseudonym": "str",
            "sections": [section, section],
            "total": "float",
            "max_total": "float",
            "passed": "bool",
            "rules": [rule, rule],
            "computed_at": "iso",
        },
    }
    assert body["authentic"] is True
    assert body["reason_code"] == "authentic"
    assert body["slip"]["total"] == 25


def test_live_board_body(client, exam, finished):
    body = client.get(f"/api/v1/public/live/{exam.sitting_id}/board").json()
    row = {
        "pseudonym": "str",
        "sections": {"TWK": "float", "TKP": "float"},
        "total": "float",
        "passed": "bool",
        "finished_at": "iso",
    }
    assert shape(body) == {
        "sitting": {"id": "int", "name": "str", "site": "str", "room": "str", "status": "str"},
        "exam": {"code": "str", "title": "str"},
        "sections": [
            {"code": "str", "name": "str", "max": "float"},
            {"code": "str", "name": "str", "max": "float"},
        ],
        "rows": [row, row],
    }
    assert [r["passed"] for r in body["rows"]] == [True, False]


def test_replay_body(client, committee, finished):
    attempt_id = finished[0]["attempt_id"]
    body = client.get(f"/api/v1/attempts/{attempt_id}/replay", headers=committee).json()
    change = {"at": "iso", "seq": "int", "option": "str", "flagged": "bool", "device": "int"}
    single = {"id": "str", "text": "str", "original_label": "str", "points": None}
    weighted = {**single, "points": "float"}
    twk = {
        "position": "int",
        "item": "str",
        "section": "str",
        "stem": "str",
        "options": [single] * 5,
        "key": "str",
        "history": [change],
        "stimulus": None,  # the passage read beside the item (none in this exam)
        "shown_at": [],  # filled only by clients that report when an item was shown
    }
    tkp = {**twk, "options": [weighted] * 5, "key": None}
    expected_items = [twk if i["section"] == "TWK" else tkp for i in body["items"]]
    assert shape(body) == {
        "attempt_id": "int",
        "nomor_peserta": "str",
        "exam": "str",
        "form_seed": shape(body["form_seed"]),
        "matches_served_form": "bool",
        "status": "str",
        "started_at": "iso",
        "finished_at": "iso",
        "items": expected_items,
        "viewer": "str",
        "stimuli": {},
    }
    assert set(body["form_seed"]) >= {"sitting_seed", "slot", "bank_digest"}
    assert body["matches_served_form"] is True
    assert [i["position"] for i in body["items"]] == [1, 2, 3, 4, 5]


def test_every_proctor_and_public_json_route_describes_its_body(app):
    """Each JSON answer of these routes has a schema in /openapi.json (not an empty object)."""
    document = app.openapi()
    untyped = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not {"proctor", "public"} & set(operation.get("tags", ())):
                continue
            content = operation["responses"].get("200", {}).get("content", {})
            if "application/json" not in content:
                continue  # an event stream or an image
            if not content["application/json"].get("schema"):
                untyped.append(f"{method.upper()} {path}")
    assert untyped == []


def test_a_slip_code_printed_before_the_shared_signer_still_verifies(client, app, db, finished):
    """The slip MAC is computed here the way it was first printed (HMAC-SHA256 under the
    "slip" sub-key, base32, 12 characters): codes on paper must keep verifying."""
    import base64
    import hashlib
    import hmac

    from app.models.result import Result
    from app.services.results import result_digest

    code = finished[0]["result"]["slip_code"]
    serial = code.split("-")[0]
    with db.read_session() as session:
        result = session.query(Result).filter_by(slip_code=serial).one()
        digest = result_digest(result)
    key = hmac.new(app.state.secret, b"ujian:slip", hashlib.sha256).digest()
    mac = hmac.new(key, f"{serial}:{digest}".encode(), hashlib.sha256).digest()
    printed = f"{serial}-{base64.b32encode(mac).decode()[:12]}"

    assert code == printed
    for typed in (printed, printed.lower(), f"  {printed} "):
        assert client.get(f"/api/v1/public/slips/{typed}").json()["authentic"] is True
    other_purpose = hmac.new(
        hmac.new(app.state.secret, b"ujian:pseudonym", hashlib.sha256).digest(),
        f"{serial}:{digest}".encode(),
        hashlib.sha256,
    ).digest()
    forged = f"{serial}-{base64.b32encode(other_purpose).decode()[:12]}"
    checked = client.get(f"/api/v1/public/slips/{forged}").json()
    assert checked["authentic"] is False
    assert checked["reason_code"] == "altered"
    assert checked["slip"]["total"] == finished[0]["result"]["total"]
