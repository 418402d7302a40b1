"""A published exam whose items read a shared passage and show formulas, for the candidate
screen, replay and state tests of passages and MathML."""

from __future__ import annotations

import io
import json

from app.clock import Clock
from app.db import Database
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import proctoring
from tests.support.factory import SMALL_SPEC, MiniExam, bank_json, roster_csv

PASSAGE_CODE = "BACAAN-BAKAU"
PASSAGE_TITLE = "Hutan bakau"
PASSAGE_TEXT = "Hutan bakau melindungi pantai dari abrasi"


def passage_bank() -> bytes:
    """Three TWK items (the exam draws all three): two read one passage, one has formulas for
    options and a fixed last option; two weighted TKP items."""
    passage = {
        "code": PASSAGE_CODE,
        "title": PASSAGE_TITLE,
        "content": f"<p>{PASSAGE_TEXT} dan menjadi tempat ikan berkembang biak.</p>"
        "<p>Luasnya <math><mn>3</mn><mo>,</mo><mn>3</mn></math> juta hektare.</p>",
    }
    options = [{"label": label, "text": f"Jawaban {label}"} for label in "ABCD"]
    twk = [
        {
            "code": "BACA-1",
            "section": "TWK",
            "topic": "bacaan",
            "stem": "<p>Manfaat hutan bakau menurut bacaan adalah ...</p>",
            "scoring": "single",
            "key": "A",
            "options": options,
            "stimulus": passage,
        },
        {
            "code": "BACA-2",
            "section": "TWK",
            "topic": "bacaan",
            "stem": "<p>Luas hutan bakau menurut bacaan adalah ...</p>",
            "scoring": "single",
            "key": "B",
            "options": options,
            "stimulus": passage,
        },
        {
            "code": "MATH-1",
            "section": "TWK",
            "topic": "hitung",
            "stem": "<p>Nilai <math><mfrac><mn>1</mn><mn>2</mn></mfrac></math> adalah ...</p>",
            "scoring": "single",
            "key": "A",
            "options": [
                {"label": "A", "text": "<math><mn>0</mn><mo>.</mo><mn>5</mn></math>"},
                {"label": "B", "text": "<math><msqrt><mn>2</mn></msqrt></math>"},
                {"label": "C", "text": "<math><msup><mn>2</mn><mn>3</mn></msup></math>"},
                {"label": "D", "text": "Tidak ada di antara pilihan di atas", "fixed": True},
            ],
        },
    ]
    tkp = json.loads(bank_json(twk=0, tkp=2))["items"]
    return json.dumps({"format": "ujian-bank/1", "items": twk + tkp}).encode()


def passage_exam(db: Database, clock: Clock, secret: bytes, *, candidates: int = 1) -> MiniExam:
    """The mini exam (10 minutes) on :func:`passage_bank`, its sitting open."""
    now = clock.now()
    with db.session() as session:
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("bacaan.json", io.BytesIO(passage_bank()))],
            actor="test",
            now=now,
        )
        assert report.ok, report.errors
        exam_service.define_exam(
            session, SMALL_SPEC.format(duration=10), "mini.yaml", actor="test", now=now
        )
        exam = exam_service.publish_exam(session, "MINI", actor="test", now=now)
        sitting = exam_service.create_sitting(
            session, exam_code="MINI", name="Sesi 1", starts_at=now, actor="test", now=now
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
        proctoring.open_sitting(session, sitting.id, now=now, actor="test")
        return MiniExam(exam.id, sitting.id, pins)
