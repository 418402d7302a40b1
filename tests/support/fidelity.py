"""A published exam whose items read a shared passage and show formulas, for the candidate
screen, replay and state tests of passages and MathML."""

from __future__ import annotations

import json

from app.clock import Clock
from app.db import Database
from tests.support.factory import MiniExam, bank_json, mini_exam

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
    return mini_exam(db, clock, secret, candidates=candidates, bank=("bacaan.json", passage_bank()))
