"""A key correction touching 100,000 finished attempts, on PostgreSQL: dry run, then apply.

Run:  .venv/bin/python -m bench.key_correction [--attempts 100000] [--formations 200]

Builds (outside the timing) a published SKD-shaped exam whose 100,000 finished attempts all
hold the item to be corrected, with every answer stored (11 million response rows) and a
published ranking. Then times what a committee does: the dry run (every affected attempt
and every ranking change, nothing written) and the application (results rewritten in one
audited transaction, the ranking republished with its diff). Target: under 60 s.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg

from app import migrate
from app.db import connect
from app.services import bank as bank_service
from app.services import corrections, exams, rankings
from app.services.runtime import load_runtime
from app.settings import Mode, Settings
from bench.readme import write_section
from bench.setup_exam import SPEC, bank_bytes
from item_bank.assembly import draw_forms
from scoring.pseudonym import pseudonyms
from scoring.rules import score_attempts
from scoring.thresholds import evaluate_thresholds

PG_ADMIN = os.environ.get("UJIAN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def spec_text(code: str, formations: int) -> str:
    base = SPEC.format(code=code, duration=100).split("formations:")[0]
    rows = "".join(
        f"  - {{code: F{i:04d}, agency: Instansi {i}, position: Analis, openings: {1 + i % 5}}}\n"
        for i in range(formations)
    )
    return base + "formations:\n" + rows


def build(url: str, n: int, n_formations: int, secret: str) -> tuple[str, str]:
    """The exam, its attempts, answers, results and a published ranking; returns (code, item)."""
    settings = Settings(mode=Mode.PRODUCTION, database_url=url, secret_key=secret)
    db = connect(settings)
    migrate.upgrade(db.engine)
    code = "KC" + secrets.token_hex(2).upper()
    now = datetime.now(UTC) - timedelta(hours=3)
    with db.session() as session:
        bank_service.import_files(
            session,
            [bank_service.UploadFile("b.json", io.BytesIO(bank_bytes(3)))],
            actor="bench",
            now=now,
        )
        exams.define_exam(session, spec_text(code, n_formations), "kc.yaml", actor="bench", now=now)
        exam = exams.publish_exam(session, code, actor="bench", now=now)
        sitting = exams.create_sitting(
            session, exam_code=code, name="S", starts_at=now, actor="bench", now=now
        )
        runtime = load_runtime(session, exam.id)
    rng = np.random.default_rng(7)
    forms_drawn = draw_forms(runtime.spec, runtime.snapshot, sitting.seed, 1000)
    target = forms_drawn[0].items[0].entry_id  # a TWK item; put on every form
    pool = []
    for form in forms_drawn:
        items = [[i.entry_id, list(i.option_order)] for i in form.items]
        if all(entry[0] != target for entry in items):
            items[0] = [target, items[0][1]]
        else:
            where = next(k for k, entry in enumerate(items) if entry[0] == target)
            items[0], items[where] = items[where], items[0]
        pool.append(items)
    form_index = rng.integers(0, len(pool), n)
    rows = np.array([[runtime.row_of[e[0]] for e in pool[k]] for k in range(len(pool))])
    forms = rows[form_index]
    n_options = runtime.snapshot.n_options  # by snapshot row; points table rows are by id order
    options_by_row = np.array(
        [len(runtime.items[i].options) for i in sorted(runtime.row_of, key=runtime.row_of.get)]
    )
    responses = (rng.random(forms.shape) * options_by_row[forms]).astype(np.int8)
    responses[rng.random(forms.shape) < 0.03] = -1
    del n_options
    scores = score_attempts(runtime.table, forms, responses, runtime.spec.rules)
    categories = np.array(["umum"] * n, dtype=object)
    outcome = evaluate_thresholds(
        scores.section_codes,
        scores.section_scores,
        scores.total,
        runtime.spec.categories,
        categories,
    )
    nomors = [f"{code}{i:08d}" for i in range(n)]
    pseud = pseudonyms(
        __import__("app.services.results", fromlist=["pseudonym_key"]).pseudonym_key(
            secret.encode()
        ),
        code,
        nomors,
    )
    formation_codes = [f.code for f in runtime.spec.formations]
    with (
        psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn,
        conn.cursor() as cur,
    ):
        with cur.copy(
            "COPY registrations (id, sitting_id, exam_id, nomor_peserta, name, category, formation, "
            "extra_minutes, slot, pin_hash, created_at) FROM STDIN"
        ) as copy:
            for i in range(n):
                copy.write_row(
                    (
                        i + 1,
                        sitting.id,
                        exam.id,
                        nomors[i],
                        f"Peserta {i}",
                        "umum",
                        formation_codes[rng.integers(len(formation_codes))],
                        0,
                        i,
                        "x" * 64,
                        now,
                    )
                )
        finished = now + timedelta(minutes=100)
        with cur.copy(
            "COPY attempts (id, registration_id, sitting_id, exam_id, status, device_generation, form, "
            "item_ids, form_seed, started_at, deadline_at, credit_seconds, finished_at, finish_reason, "
            "created_at) FROM STDIN"
        ) as copy:
            for i in range(n):
                form = pool[form_index[i]]
                copy.write_row(
                    (
                        i + 1,
                        i + 1,
                        sitting.id,
                        exam.id,
                        "finished",
                        1,
                        json.dumps(form),
                        [int(e[0]) for e in form],
                        json.dumps({"sitting_seed": sitting.seed, "slot": i}),
                        now,
                        finished,
                        0,
                        finished,
                        "deadline",
                        now,
                    )
                )
        with cur.copy(
            "COPY responses (attempt_id, position, option, flagged, seq, saved_at) FROM STDIN"
        ) as copy:
            for i in range(n):
                for p in range(forms.shape[1]):
                    r = int(responses[i, p])
                    copy.write_row((i + 1, p + 1, None if r < 0 else r, False, p + 1, now))
        codes = scores.section_codes
        with cur.copy(
            "COPY results (attempt_id, exam_id, sitting_id, section_scores, total, passed, rules, "
            "scoring_version, scoring_revision, pseudonym, slip_code, computed_at) FROM STDIN"
        ) as copy:
            for i in range(n):
                copy.write_row(
                    (
                        i + 1,
                        exam.id,
                        sitting.id,
                        json.dumps(
                            {c: float(scores.section_scores[i, k]) for k, c in enumerate(codes)}
                        ),
                        float(scores.total[i]),
                        bool(outcome.passed[i]),
                        "[]",
                        "1",
                        0,
                        pseud[i],
                        secrets.token_hex(8),
                        finished,
                    )
                )
        for table in ("registrations", "attempts"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        # Every stored answer has its history row, as the answer path writes them: publishing
        # recomputes each result from that history first and refuses on any mismatch.
        cur.execute(
            "INSERT INTO response_events (attempt_id, position, option, flagged, seq, at, "
            "device_generation) SELECT attempt_id, position, option, flagged, seq, saved_at, 1 "
            "FROM responses"
        )
        cur.execute("ANALYZE")
    with db.session() as session:
        rankings.publish(
            session, code, secret=secret.encode(), actor="bench", now=datetime.now(UTC)
        )
    item_code = runtime.items[target].code
    db.dispose()
    return code, item_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--formations", type=int, default=200)
    args = parser.parse_args()
    secret = secrets.token_urlsafe(40)
    name = f"ujian_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        started = time.perf_counter()
        code, item = build(url, args.attempts, args.formations, secret)
        setup = time.perf_counter() - started
        db = connect(Settings(mode=Mode.PRODUCTION, database_url=url, secret_key=secret))
        request = corrections.CorrectionRequest(
            item_code=item, kind="correct_key", key="B", reason="kunci keliru"
        )
        timings = {}
        for apply in (False, True):
            t0 = time.perf_counter()
            with db.session() as session:
                plan = corrections.correct(
                    session,
                    code,
                    request,
                    secret=secret.encode(),
                    actor="bench",
                    now=datetime.now(UTC),
                    apply=apply,
                )
                summary = plan.as_dict(limit=0)
            timings["apply" if apply else "dry run"] = (time.perf_counter() - t0, summary)
        db.dispose()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    lines = [
        f"Command: `.venv/bin/python -m bench.key_correction --attempts {args.attempts} --formations {args.formations}` "
        f"({os.cpu_count()} cores, shared; PostgreSQL 15 on the same machine). {args.attempts:,} finished SKD "
        "attempts (110 answers each stored), every one holding the corrected item; a published ranking of "
        f"{args.formations} formations. Setup (not timed): {setup:.0f} s. Target: dry run and apply each under 60 s.",
        "",
        "| step | seconds | attempts with the item | attempts changed | pass changes | ranking changes |",
        "|---|---|---|---|---|---|",
    ]
    for step, (seconds, summary) in timings.items():
        moves = sum(len(v) for v in summary["ranking_changes"].values())
        lines.append(
            f"| {step} | {seconds:.1f} | {summary['attempts_with_item']:,} | {summary['attempts_changed']:,} | "
            f"{summary['pass_changes']:,} | {moves:,} |"
        )
    print("\n".join(lines))
    write_section("Key correction on PostgreSQL", "\n".join(lines))


if __name__ == "__main__":
    main()
