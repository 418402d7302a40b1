"""Build a realistic exam for benchmarks: an SKD-shaped bank and spec, an open sitting, N
candidates with PINs, optionally logged in and started (tokens returned)."""

from __future__ import annotations

import io
import json
import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from app import migrate
from app.clock import Clock
from app.db import Database, connect
from app.services import attempts, exams, proctoring
from app.services import bank as bank_service
from app.services.candidate_tokens import CandidateClaim, CandidateTokens
from app.services.runtime import RuntimeCache
from app.services.throttle import Policy
from app.settings import Mode, Settings

SECTIONS = (("TWK", 30, "single"), ("TIU", 35, "single"), ("TKP", 45, "weighted"))

SPEC = """
code: {code}
title: Ujian Benchmark SKD
duration_minutes: {duration}
sections:
  - {{code: TWK, name: Tes Wawasan Kebangsaan, item_count: 30, scoring: {{kind: dichotomous, correct: 5}}}}
  - {{code: TIU, name: Tes Intelegensia Umum, item_count: 35, scoring: {{kind: dichotomous, correct: 5}}}}
  - {{code: TKP, name: Tes Karakteristik Pribadi, item_count: 45, scoring: {{kind: weighted, max_option_points: 5}}}}
categories:
  - code: umum
    minima: {{TWK: 65, TIU: 80, TKP: 166}}
tie_breaks: [TKP, TIU, TWK]
formations:
  - {{code: F{code}, agency: Instansi Benchmark, position: Analis, openings: 10}}
"""


def bank_bytes(multiplier: int, seed: int = 7) -> bytes:
    """A native bank with ``multiplier`` times each SKD section's item count."""
    rng = random.Random(seed)
    items = []
    for section, count, kind in SECTIONS:
        for i in range(count * multiplier):
            options = [
                {"label": label, "text": f"Pilihan {label} untuk {section}-{i}"}
                for label in "ABCDE"
            ]
            item = {
                "code": f"B-{section}-{i:05d}",
                "section": section,
                "topic": f"topik{i % 3}",
                "stem": f"<p>Soal {section} nomor {i}: pilih jawaban yang paling tepat.</p>",
                "scoring": kind,
                "options": options,
            }
            if kind == "single":
                item["key"] = rng.choice("ABCDE")
                item["p_value"] = round(rng.uniform(0.2, 0.9), 2)
            else:
                for option, points in zip(options, rng.sample([1, 2, 3, 4, 5], 5), strict=True):
                    option["points"] = points
            items.append(item)
    return json.dumps({"format": "ujian-bank/1", "items": items}).encode()


@dataclass
class PreparedExam:
    """A sitting ready for load."""

    url: str
    secret: bytes
    sitting_id: int
    exam_code: str
    pins: list[tuple[str, str]]
    tokens: list[str]


def bench_settings(url: str, secret: str, var_dir: Path, **overrides: object) -> Settings:
    """Settings of a benchmark server."""
    return Settings(
        mode=Mode.PRODUCTION,
        database_url=url,
        secret_key=secret,
        var_dir=var_dir,
        **overrides,  # type: ignore[arg-type]
    )


def prepare(
    url: str,
    secret: str,
    var_dir: Path,
    *,
    candidates: int,
    start: int = 0,
    duration: int = 100,
    multiplier: int = 3,
) -> PreparedExam:
    """Migrate ``url``, load bank + exam + an open sitting of ``candidates``; log in and start
    the first ``start`` of them (their tokens are returned)."""
    settings = bench_settings(url, secret, var_dir, sqlite_synchronous="FULL")
    db: Database = connect(settings)
    migrate.upgrade(db.engine)
    clock = Clock()
    code = f"BENCH{secrets.token_hex(3).upper()}"
    now = clock.now()
    with db.session() as session:
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("bench.json", io.BytesIO(bank_bytes(multiplier)))],
            actor="bench",
            now=now,
        )
        assert report.ok, report.errors[:3]
        exams.define_exam(
            session, SPEC.format(code=code, duration=duration), "bench.yaml", actor="bench", now=now
        )
        exams.publish_exam(session, code, actor="bench", now=now)
        sitting = exams.create_sitting(
            session, exam_code=code, name="Sesi Benchmark", starts_at=now, actor="bench", now=now
        )
        roster = "nomor_peserta,name,category,formation\n" + "".join(
            f"{code}{i:07d},Peserta {i},umum,F{code}\n" for i in range(candidates)
        )
        issued = exams.import_roster(
            session,
            sitting.id,
            roster.encode(),
            "roster.csv",
            secret=secret.encode(),
            actor="bench",
            now=now,
        )
        proctoring.open_sitting(session, sitting.id, now=now, actor="bench")
    pins = [(p.nomor_peserta, p.pin) for p in issued]
    tokens_issuer = CandidateTokens(secret.encode())
    runtimes = RuntimeCache()
    policy = Policy(5, timedelta(minutes=15), timedelta(minutes=15))
    tokens = []
    for nomor, pin in pins[:start]:
        with db.session() as session:
            login = attempts.candidate_login(
                session,
                nomor_peserta=nomor,
                pin=pin,
                now=clock.now(),
                client="bench",
                secret=secret.encode(),
                tokens=tokens_issuer,
                policy=policy,
                address_policy=Policy(10**9, policy.window, policy.lockout),
            )
            assert not isinstance(login, Exception), login
        with db.session() as session:
            attempts.start(
                session,
                CandidateClaim(login.attempt_id, login.generation, 0),
                now=clock.now(),
                runtimes=runtimes,
            )
        tokens.append(login.access_token)
    db.dispose()
    return PreparedExam(url, secret.encode(), sitting.id, code, pins, tokens)
