"""Results to show on the public pages and the committee console, built once per test module: a
small exam whose every form carries every item, candidates who answer it item by item through
the API, staff logins. The bulk is written through the app in this process (quicker than over
HTTP); the pages are then served by a real ``ujian serve`` on the same database."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from app.clock import Clock
from app.db import Database
from app.models.staff import Role
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import proctoring, staff
from tests.browser.journey import server_env
from tests.conftest import TEST_SECRET, make_settings, truncate_all
from tests.support.factory import SMALL_SPEC, bank_json, live_replay_in, roster_csv
from tests.support.server import ServerProcess, running_server

#: Chooses a candidate's answer to an item: ``(item code, section) -> bank label`` (None: blank).
Chooser = Callable[[str, str], str | None]


@dataclass
class Exam:
    """A published exam ``MINI`` with one open sitting and its roster."""

    sitting_id: int
    pins: dict[str, str]
    names: dict[str, str]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # nomor -> result
    #: The database, to read a form's keys while it is being sat (the replay route refuses).
    db: Database | None = field(default=None, repr=False)

    def nomor(self, number: int) -> str:
        """The nomor peserta of the roster's ``number``-th candidate (1-based)."""
        return f"2026{number:06d}"


def small_exam(db: Database, candidates: int) -> Exam:
    """MINI (3 TWK items of 5 points, 2 TKP items weighted 5..1, 10 minutes) on a bank of
    exactly those items, so every candidate gets all five; categories and formation as in
    ``tests.support.factory`` (umum: TWK >= 10 and TKP >= 6; F1, 1 opening, cut 3)."""
    now = Clock().now()
    with db.session() as session:
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("bank.json", io.BytesIO(bank_json(twk=3, tkp=2)))],
            actor="test",
            now=now,
        )
        assert report.ok, report.errors
        exam_service.define_exam(
            session, SMALL_SPEC.format(duration=10), "mini.yaml", actor="test", now=now
        )
        exam_service.publish_exam(session, "MINI", actor="test", now=now)
        sitting = exam_service.create_sitting(
            session,
            exam_code="MINI",
            name="Sesi 1",
            starts_at=now,
            site="Kantor Regional I BKN Yogyakarta",
            room="Ruang CAT 2",
            actor="test",
            now=now,
        )
        rows = [
            (f"2026{i:06d}", f"Peserta Nomor {i}", "umum", "F1") for i in range(1, candidates + 1)
        ]
        issued = exam_service.import_roster(
            session,
            sitting.id,
            roster_csv(rows),
            "roster.csv",
            secret=TEST_SECRET.encode(),
            actor="test",
            now=now,
        )
        proctoring.open_sitting(session, sitting.id, now=now, actor="test")
    return Exam(
        sitting.id,
        {p.nomor_peserta: p.pin for p in issued},
        {nomor: name for nomor, name, _c, _f in rows},
        db=db,
    )


def staff_account(db: Database, role: Role) -> tuple[str, str]:
    """A new staff account of ``role``: (username, password)."""
    username = f"{role}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    with db.session() as session:
        staff.create_user(
            session,
            username=username,
            password=password,
            role=role,
            now=Clock().now(),
            actor="test",
        )
    return username, password


def bearer(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    """Authorization headers of a staff login."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def take(
    client: httpx.Client, exam: Exam, nomor: str, committee: dict[str, str], choose: Chooser
) -> dict[str, Any]:
    """Log ``nomor`` in, answer every item as ``choose`` says, finish; returns the result."""
    login = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pins[nomor]}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    state = client.post("/api/v1/attempts/current/start", headers=headers).json()
    assert exam.db is not None
    replay = live_replay_in(exam.db, state["attempt_id"])
    seq = 0
    for item in replay["items"]:
        label = choose(item["item"].split(" ")[0], item["section"])
        if label is None:
            continue
        option = next(o["id"] for o in item["options"] if o["original_label"] == label)
        seq += 1
        ack = client.put(
            f"/api/v1/attempts/current/responses/{item['position']}",
            json={"option": option, "flagged": False, "seq": seq},
            headers=headers,
        )
        assert ack.status_code == 200, ack.text
    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    ).json()
    result: dict[str, Any] = finished["result"]
    exam.results[nomor] = result
    return result


def by_section(twk: str | None, tkp: str | None) -> Chooser:
    """The same label for every item of a section."""
    return lambda _code, section: twk if section == "TWK" else tkp


@contextmanager
def module_server(db: Database, database_url: str, folder: Path) -> Iterator[ServerProcess]:
    """A real server for a whole test module; the tables are emptied after it stops."""
    try:
        with running_server(server_env(database_url, folder), folder) as server:
            yield server
    finally:
        truncate_all(db)


@contextmanager
def app_client(db: Database, database_url: str, folder: Path) -> Iterator[TestClient]:
    """The API in this process, on the suite's database, key and var/ folder (the module's
    server's: documents signed here verify with the keys that server publishes)."""
    from app.main import create_app

    app = create_app(make_settings(database_url, folder / "var"), db=db, clock=Clock())
    with TestClient(app) as client:
        yield client
