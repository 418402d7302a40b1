"""Verifying 100,000 stored results on PostgreSQL: every one recomputed from its answer history.

Run:  .venv/bin/python -m bench.results_verify [--attempts 100000] [--formations 50]

Builds (outside the timing) the key-correction bench's exam (bench/key_correction.py): 100,000
finished SKD attempts, 110 answers each, with their results and the answer history the answer
path writes beside each answer (``response_events``, 11 million rows). Then times :func:`app.services.verification.verify` (what ``ujian
results verify EXAM``, the committee route and every publication run): once on the clean
exam, once after a few stored results and one answer were edited, which it must name.
Target: under 60 s. Prints the table for bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from typing import Any

import psycopg
from sqlalchemy import text

from app.db import connect
from app.services import verification
from app.settings import Mode, Settings
from bench import key_correction


def _timed(db: Any, code: str) -> tuple[float, verification.Verification]:
    started = time.perf_counter()
    with db.unit_of_work() as session:
        report = verification.verify(session, code)
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--formations", type=int, default=50)
    args = parser.parse_args()
    secret = secrets.token_urlsafe(40)
    name = f"ujian_bench_{secrets.token_hex(4)}"
    admin = key_correction.PG_ADMIN
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        started = time.perf_counter()
        code, _item = key_correction.build(url, args.attempts, args.formations, secret)
        setup = time.perf_counter() - started
        db = connect(Settings(mode=Mode.PRODUCTION, database_url=url, secret_key=secret))
        clean_seconds, clean = _timed(db, code)
        planted = [17, 4_242, args.attempts - 1]
        with db.unit_of_work() as session:
            for attempt_id in planted[:2]:
                session.execute(
                    text("UPDATE results SET total = total + 5 WHERE attempt_id = :a"),
                    {"a": attempt_id},
                )
            # The last one's answer to its last TKP item (weighted: every option earns 1-5
            # points, a blank 0) blanked, or a blank answered, in its history only.
            session.execute(
                text(
                    "UPDATE response_events SET option = CASE WHEN option IS NULL THEN 0 END "
                    "WHERE attempt_id = :a AND position = 110"
                ),
                {"a": planted[2]},
            )
        dirty_seconds, dirty = _timed(db, code)
        db.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    found = dirty.attempt_ids()
    lines = [
        f"Command: `.venv/bin/python -m bench.results_verify --attempts {args.attempts} "
        f"--formations {args.formations}` ({os.cpu_count()} cores, shared; PostgreSQL on the "
        f"same machine). {args.attempts:,} finished SKD attempts of the key-correction bench "
        f"(110 answers each, each answer's history event stored), every stored result "
        f"recomputed from the answer history, the frozen forms and the current key. Setup (not "
        f"timed): {setup:.0f} s. Target: under 60 s.",
        "",
        "| run | seconds | results recomputed | mismatches named |",
        "|---|---|---|---|",
        f"| clean exam | {clean_seconds:.1f} | {clean.checked:,} | {len(clean.mismatches)} |",
        f"| 2 totals and 1 answer edited | {dirty_seconds:.1f} | {dirty.checked:,} | "
        f"{len(found)} (attempts {', '.join(str(i) for i in found)}) |",
    ]
    print("\n".join(lines))
    if not clean.ok or found != sorted(planted):
        msg = f"verification went wrong: clean {clean.ok}, named {found}, planted {planted}"
        raise SystemExit(msg)


if __name__ == "__main__":
    main()
