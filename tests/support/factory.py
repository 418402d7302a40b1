"""Build a small, real exam for tests: a bank, a published exam, an open sitting, a roster."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime

from app.clock import Clock
from app.db import Database
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import proctoring
from app.services.exams import IssuedPin

SMALL_SPEC = """
code: MINI
title: Ujian Mini
duration_minutes: {duration}
shuffle_items: true
shuffle_options: true
show_result: true
sections:
  - code: TWK
    name: Tes Wawasan Kebangsaan
    item_count: 3
    scoring: {{kind: dichotomous, correct: 5, wrong: 0, blank: 0}}
  - code: TKP
    name: Tes Karakteristik Pribadi
    item_count: 2
    scoring: {{kind: weighted, max_option_points: 5, blank: 0}}
categories:
  - code: umum
    minima: {{TWK: 10, TKP: 6}}
  - code: disabilitas
    minima: {{total: 12}}
tie_breaks: [TKP, TWK]
formations:
  - {{code: F1, agency: Kementerian Contoh, position: Analis, openings: 1}}
"""


def bank_json(twk: int = 6, tkp: int = 4) -> bytes:
    """A native bank: ``twk`` single-key items (key A) and ``tkp`` weighted items."""
    items = []
    for i in range(twk):
        items.append(
            {
                "code": f"TWK-{i:03d}",
                "section": "TWK",
                "topic": "pancasila",
                "stem": f"<p>Soal TWK nomor {i}</p>",
                "scoring": "single",
                "key": "A",
                "options": [
                    {"label": label, "text": f"Pilihan {label} soal {i}"} for label in "ABCDE"
                ],
                "p_value": 0.5,
            }
        )
    for i in range(tkp):
        items.append(
            {
                "code": f"TKP-{i:03d}",
                "section": "TKP",
                "topic": "pelayanan_publik",
                "stem": f"<p>Situasi TKP {i}</p>",
                "scoring": "weighted",
                "options": [
                    {"label": label, "text": f"Sikap {label} {i}", "points": points}
                    for label, points in zip("ABCDE", (5, 4, 3, 2, 1), strict=True)
                ],
            }
        )
    return json.dumps({"format": "ujian-bank/1", "items": items}).encode()


@dataclass
class MiniExam:
    """What :func:`mini_exam` built."""

    exam_id: int
    sitting_id: int
    pins: list[IssuedPin] = field(default_factory=list)

    def pin_of(self, nomor: str) -> str:
        """The PIN issued to ``nomor``."""
        return next(p.pin for p in self.pins if p.nomor_peserta == nomor)


def roster_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    """A roster CSV of (nomor, name, category, formation) rows."""
    lines = ["nomor_peserta,name,category,formation"] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def mini_exam(
    db: Database,
    clock: Clock,
    secret: bytes,
    *,
    candidates: int = 3,
    duration: int = 10,
    open_sitting: bool = True,
    starts_at: datetime | None = None,
    bank: tuple[str, bytes] | None = None,
) -> MiniExam:
    """A published five-item exam with an (open) sitting of ``candidates`` candidates.

    ``bank`` (file name, contents) replaces the default :func:`bank_json` upload, for fixtures
    whose items differ but whose exam, sitting and roster are the same.
    """
    now = clock.now()
    filename, contents = bank if bank is not None else ("bank.json", bank_json())
    with db.session() as session:
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile(filename, io.BytesIO(contents))],
            actor="test",
            now=now,
        )
        assert report.ok, report.errors
        exam_service.define_exam(
            session, SMALL_SPEC.format(duration=duration), "mini.yaml", actor="test", now=now
        )
        exam = exam_service.publish_exam(session, "MINI", actor="test", now=now)
        sitting = exam_service.create_sitting(
            session,
            exam_code="MINI",
            name="Sesi 1",
            starts_at=starts_at or now,
            actor="test",
            now=now,
        )
        rows = [(f"2026{i:06d}", f"Peserta {i}", "umum", "F1") for i in range(1, candidates + 1)]
        pins = exam_service.import_roster(
            session,
            sitting.id,
            roster_csv(rows),
            "roster.csv",
            secret=secret,
            actor="test",
            now=now,
        )
        if open_sitting:
            proctoring.open_sitting(session, sitting.id, now=now, actor="test")
        return MiniExam(exam.id, sitting.id, pins)


def candidate_login(client, exam: MiniExam, nomor: str = "2026000001") -> dict[str, str]:
    """Log a candidate of ``exam`` in through the API (asserting it worked); its auth header."""
    response = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def move_with_approval(
    client, exam: MiniExam, db: Database, clock: Clock, nomor: str = "2026000001"
) -> dict[str, str]:
    """Log ``nomor`` in on another PC while their attempt runs: the login waits, the sitting's
    proctor approves the move, and the new PC collects its token; its auth header."""
    from app.services import device_moves

    waiting = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    )
    assert waiting.status_code == 409, waiting.text
    body = waiting.json()
    assert body["error"] == "DeviceMovePending"
    with db.session() as session:
        device_moves.approve(
            session,
            body["attempt_id"],
            body["request_id"],
            now=clock.now(),
            actor="proctor:test",
            reason="PC mati",
        )
    status = client.post("/api/v1/candidate/move-status", json={"move_token": body["move_token"]})
    assert status.status_code == 200, status.text
    return {"Authorization": f"Bearer {status.json()['access_token']}"}


def start_attempt(client, headers: dict[str, str]) -> dict:
    """Start the logged-in candidate's attempt (asserting it worked); the attempt's state."""
    response = client.post("/api/v1/attempts/current/start", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def live_replay_in(db: Database, attempt_id: int) -> dict:
    """The replay of an attempt still being sat, read past the route (which refuses it while
    the candidate sits): a test answering by the key needs to know the key."""
    from dataclasses import asdict

    from app.services.replay import replay_of
    from app.services.runtime import RuntimeCache

    with db.read_session() as session:
        shown = replay_of(session, attempt_id, runtimes=RuntimeCache(), viewer="test")
        return json.loads(json.dumps(asdict(shown), default=str))


def live_replay(client, attempt_id: int) -> dict:
    """:func:`live_replay_in` the database of a test client's app."""
    return live_replay_in(client.app.state.services.db, attempt_id)


def take_exam(
    client, exam: MiniExam, nomor: str, committee: dict[str, str], plan: dict[str, str]
) -> dict:
    """Log ``nomor`` in, start, answer by ``plan`` and finish; returns the final state.

    ``plan`` maps a section to how to answer it: ``"key"`` (the key, or the 5-point option),
    ``"wrong"`` (a non-key, or the 1-point option), ``"label:B"`` (the option the bank labels
    B) or ``"blank"``. The letters come from the
    committee's replay, so the test knows exactly what each candidate scores.
    """
    token = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    state = client.post("/api/v1/attempts/current/start", headers=headers).json()
    replay = live_replay(client, state["attempt_id"])
    seq = 0
    for item in replay["items"]:
        how = plan.get(item["section"], "blank")
        if how == "blank":
            continue
        if how.startswith("label:"):
            label = how.split(":", 1)[1]
            letter = next(o["id"] for o in item["options"] if o["original_label"] == label)
        elif item["key"] is not None:
            letter = (
                item["key"]
                if how == "key"
                else next(o["id"] for o in item["options"] if o["id"] != item["key"])
            )
        else:
            best = max if how == "key" else min
            letter = best(item["options"], key=lambda o: o["points"])["id"]
        seq += 1
        ack = client.put(
            f"/api/v1/attempts/current/responses/{item['position']}",
            json={"option": letter, "flagged": False, "seq": seq},
            headers=headers,
        )
        assert ack.status_code == 200, ack.text
    return client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    ).json()
