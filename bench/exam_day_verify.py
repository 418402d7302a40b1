"""The checks after an exam-day rehearsal, read straight from the database (read-only).

(a) Every acknowledged answer is the stored current answer: for each candidate and position,
    the ``responses`` row equals the newest save the server acknowledged (option, ragu-ragu
    flag and ``seq``), or a later save whose response never arrived (the server may have
    committed it just before it died); nothing is stored where nothing was acknowledged except
    such a save. The current row must also equal the newest ``response_events`` row.
(b) Every attempt is finished and scored: no attempt is ``ready`` or ``in_progress``; each
    has a result; ``finish_reason`` is ``candidate`` only for those who pressed Selesai and
    ``deadline`` for everyone else; a candidate who never came has no attempt; the result on
    the candidate's screen is the stored one; the sitting pause moved every paused deadline by
    the same amount, within the pause the proctor saw, and no other deadline.
(c) The published ranking equals a recount from the raw answer history: the newest event per
    position, scored with :mod:`scoring` from the bank file and the rehearsal's own copy of
    the exam's rules (not the server's parse of them), thresholds per category, ranked per
    formation, pseudonyms from the server secret. Rows must match exactly: order, rank,
    pseudonym, status, total and every section score.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select

from app.db import connect
from app.models.attempt import Attempt, Response, ResponseEvent
from app.models.bank import ItemVersion
from app.models.result import Result
from app.models.sitting import Registration
from app.services.results import candidate_pseudonym
from bench.exam_day_candidate import LETTERS, Outcome
from bench.exam_day_setup import Prepared
from bench.setup_exam import bench_settings
from scoring.ranking import RankInput, rank_formations
from scoring.rules import BLANK, ItemScoringRow, build_points_table, score_attempts
from scoring.thresholds import evaluate_thresholds

#: Answers are (seq, original option index or None, flagged).
Stored = tuple[int, int | None, bool]


@dataclass
class Verdict:
    """What the checks found: counts of what held, and every failure in words."""

    failures: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.failures.append(message)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class DbState:
    """What the checks read from the database."""

    registrations: list[Registration]
    attempts: dict[int, Attempt]  # by registration id
    responses: dict[tuple[int, int], Stored]
    latest_events: dict[tuple[int, int], Stored]
    events: int
    results: dict[int, Result]
    item_codes: dict[int, str]


def load(prepared: Prepared, var_dir: Any) -> DbState:
    """Read the rehearsal's registrations, attempts, answers, history and results."""
    db = connect(bench_settings(prepared.url, prepared.secret, var_dir))
    try:
        with db.read_session() as session:
            registrations = list(
                session.scalars(
                    select(Registration)
                    .where(Registration.sitting_id.in_(prepared.sitting_ids))
                    .order_by(Registration.id)
                )
            )
            attempts = {
                a.registration_id: a
                for a in session.scalars(
                    select(Attempt).where(Attempt.sitting_id.in_(prepared.sitting_ids))
                )
            }
            ids = [a.id for a in attempts.values()]
            responses: dict[tuple[int, int], Stored] = {}
            latest: dict[tuple[int, int], Stored] = {}
            events = 0
            results: dict[int, Result] = {}
            for chunk in range(0, len(ids), 500):
                part = ids[chunk : chunk + 500]
                for r in session.scalars(select(Response).where(Response.attempt_id.in_(part))):
                    responses[(r.attempt_id, r.position)] = (int(r.seq), r.option, bool(r.flagged))
                for e in session.scalars(
                    select(ResponseEvent).where(ResponseEvent.attempt_id.in_(part))
                ):
                    events += 1
                    key = (e.attempt_id, e.position)
                    if key not in latest or latest[key][0] < e.seq:
                        latest[key] = (int(e.seq), e.option, bool(e.flagged))
                for res in session.scalars(select(Result).where(Result.attempt_id.in_(part))):
                    results[res.attempt_id] = res
            item_codes = {
                int(row.id): str(row.code)
                for row in session.execute(select(ItemVersion.id, ItemVersion.code))
            }
            for obj in (*registrations, *attempts.values(), *results.values()):
                session.expunge(obj)
    finally:
        db.dispose()
    return DbState(registrations, attempts, responses, latest, events, results, item_codes)


def _original(attempt: Attempt, position: int, letter: str | None) -> int | None:
    if letter is None:
        return None
    order = attempt.form[position - 1][1]  # type: ignore[index]
    return int(order[LETTERS.index(letter)])


def check_answers(verdict: Verdict, db: DbState, outcomes: dict[str, Outcome]) -> None:
    """(a): acknowledged answers are the stored answers."""
    by_id = {a.id: a for a in db.attempts.values()}
    stored_at: dict[int, set[int]] = {}
    for attempt_id, position in db.responses:
        stored_at.setdefault(attempt_id, set()).add(position)
    checked = lost = wrong = phantom = unacked_committed = 0
    for outcome in outcomes.values():
        if outcome.attempt_id is None:
            continue
        attempt = by_id.get(outcome.attempt_id)
        if attempt is None or not attempt.form:
            verdict.fail(
                f"{outcome.nomor}: attempt {outcome.attempt_id} has no form in the database"
            )
            continue
        stored_positions = stored_at.get(attempt.id, set())
        for position in set(outcome.acked) | set(outcome.unknown) | stored_positions:
            checked += 1
            stored = db.responses.get((attempt.id, position))
            acked = outcome.acked.get(position)
            allowed: list[Stored] = []
            if acked is not None:
                allowed.append((acked[0], _original(attempt, position, acked[1]), acked[2]))
            later = [
                (seq, _original(attempt, position, letter), flagged)
                for seq, letter, flagged in outcome.unknown.get(position, [])
                if acked is None or seq > acked[0]
            ]
            where = f"{outcome.nomor} (attempt {attempt.id}) position {position}"
            if stored is None:
                if acked is not None:
                    lost += 1
                    verdict.fail(f"LOST: {where}: acknowledged {acked} but nothing is stored")
                continue
            if stored in allowed:
                pass
            elif stored in later:
                unacked_committed += 1
            elif acked is not None and stored[0] < acked[0]:
                lost += 1
                verdict.fail(
                    f"LOST: {where}: acknowledged seq {acked[0]} {acked[1:]} but stored {stored}"
                )
            elif acked is None:
                phantom += 1
                verdict.fail(f"PHANTOM: {where}: stored {stored}, never acknowledged or sent so")
            else:
                wrong += 1
                verdict.fail(
                    f"WRONG: {where}: acknowledged seq {acked[0]} {acked[1:]} "
                    f"(option index {allowed[0][1]}), stored {stored}"
                )
            event = db.latest_events.get((attempt.id, position))
            if event != stored:
                verdict.fail(f"HISTORY: {where}: current answer {stored}, newest event {event}")
    verdict.facts.update(
        positions_checked=checked,
        lost=lost,
        wrong=wrong,
        phantom=phantom,
        committed_without_ack=unacked_committed,
        responses_rows=len(db.responses),
        response_events=db.events,
    )


def check_attempts(
    verdict: Verdict,
    db: DbState,
    prepared: Prepared,
    outcomes: dict[str, Outcome],
    pause: tuple[float, float, float, float] | None,
) -> None:
    """(b): every attempt finished, scored, for the right reason; the pause moved deadlines."""
    plans = {p.nomor: p for p in prepared.candidates}
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    lags: list[float] = []
    shifts: dict[int, list[tuple[float, bool, str]]] = {}
    duration = prepared.exam.duration_minutes * 60
    for registration in db.registrations:
        plan = plans[registration.nomor_peserta]
        attempt = db.attempts.get(registration.id)
        where = f"{registration.nomor_peserta}"
        if plan.absent:
            if attempt is not None:
                verdict.fail(f"{where}: never came, yet has an attempt ({attempt.status})")
            continue
        outcome = outcomes.get(registration.nomor_peserta)
        if attempt is None:
            verdict.fail(f"{where}: came, but has no attempt")
            continue
        statuses[attempt.status] += 1
        reasons[str(attempt.finish_reason)] += 1
        if attempt.status != "finished":
            verdict.fail(f"{where}: attempt {attempt.id} is {attempt.status}, not finished")
            continue
        result = db.results.get(attempt.id)
        if result is None:
            verdict.fail(f"{where}: attempt {attempt.id} finished without a result")
        sent_finish = outcome is not None and outcome.sent_finish
        if attempt.finish_reason == "candidate" and not sent_finish:
            verdict.fail(f"{where}: finish_reason candidate, but the candidate never finished")
        if not sent_finish and attempt.finish_reason != "deadline":
            verdict.fail(f"{where}: time ran out, finish_reason {attempt.finish_reason}")
        deadline = _utc(attempt.deadline_at)
        finished = _utc(attempt.finished_at)
        started = _utc(attempt.started_at)
        assert deadline is not None and finished is not None and started is not None
        if attempt.finish_reason == "deadline":
            lag = (finished - deadline).total_seconds()
            lags.append(lag)
            if lag <= 0:
                verdict.fail(f"{where}: finished by deadline {-lag:.1f} s before the deadline")
        if outcome is not None and result is not None:
            if outcome.final_status != "finished":
                verdict.fail(f"{where}: the screen ended at {outcome.final_status!r}")
            elif outcome.result_total != float(result.total):
                verdict.fail(
                    f"{where}: the screen showed total {outcome.result_total}, stored {result.total}"
                )
        shift = (deadline - started).total_seconds() - duration - 60 * registration.extra_minutes
        ran_through_pause = (
            pause is not None and started.timestamp() < pause[0] and finished.timestamp() > pause[3]
        )
        shifts.setdefault(registration.sitting_id, []).append(
            (round(shift, 3), ran_through_pause, where)
        )
    verdict.facts.update(
        attempts=dict(statuses),
        finish_reasons=dict(reasons),
        absent=sum(1 for p in prepared.candidates if p.absent),
    )
    if lags:
        ordered = sorted(lags)
        verdict.facts["deadline_to_finished_s"] = {
            "p50": ordered[len(ordered) // 2],
            "max": ordered[-1],
        }
    for sitting_id, values in shifts.items():
        moved = sorted({v for v, _through, _who in values})
        if sitting_id != prepared.paused_sitting:
            if moved != [0.0]:
                verdict.fail(f"sitting {sitting_id} was never paused, yet deadlines moved: {moved}")
            continue
        if pause is None:
            continue
        through = [(v, who) for v, ran, who in values if ran]
        paused = sorted({v for v, _who in through})
        verdict.facts["pause_shift_s"] = paused
        verdict.facts["attempts_paused"] = len(through)
        sent, done, resume_sent, resume_done = pause
        longest, shortest = resume_done - sent, resume_sent - done
        if not through:
            verdict.fail(f"no attempt of sitting {sitting_id} ran through the pause")
        elif len(paused) != 1:
            verdict.fail(f"the pause moved sitting {sitting_id}'s deadlines unequally: {paused}")
        elif not shortest - 0.01 <= paused[0] <= longest + 0.01:
            verdict.fail(
                f"the pause moved deadlines by {paused[0]} s; the proctor's pause lasted "
                f"{shortest:.2f}-{longest:.2f} s"
            )


def recount(
    db: DbState, prepared: Prepared
) -> tuple[dict[str, list[dict[str, Any]]], dict[int, tuple[dict[str, float], float, bool]]]:
    """(c)'s independent side: rows per formation, and each attempt's scores."""
    exam = prepared.exam
    rules = exam.section_rules()
    by_code = {r.code: r for r in rules}
    used = sorted({int(item_id) for a in db.attempts.values() for item_id, _o in a.form or []})
    row_of = {item_id: k for k, item_id in enumerate(used)}
    table_rows = []
    for item_id in used:
        item = prepared.bank[db.item_codes[item_id]]
        labels = [o["label"] for o in item["options"]]
        single = item["scoring"] == "single"
        table_rows.append(
            ItemScoringRow(
                section_scoring=by_code[str(item["section"])].scoring,
                n_options=len(labels),
                key_index=labels.index(item["key"]) if single else None,
                option_points=None
                if single
                else tuple(float(o["points"]) for o in item["options"]),
            )
        )
    table = build_points_table(table_rows)
    registrations = db.registrations
    n = len(registrations)
    positions = sum(r.item_count for r in rules)
    forms = np.zeros((n, positions), dtype=np.int32)
    answers = np.full((n, positions), BLANK, dtype=np.int8)
    sat = np.zeros(n, dtype=np.bool_)
    for i, registration in enumerate(registrations):
        attempt = db.attempts.get(registration.id)
        if attempt is None or attempt.status == "ready" or not attempt.form:
            continue
        sat[i] = True
        for p, (item_id, _order) in enumerate(attempt.form):
            forms[i, p] = row_of[int(item_id)]
            event = db.latest_events.get((attempt.id, p + 1))
            if event is not None and event[1] is not None:
                answers[i, p] = event[1]
    scores = score_attempts(table, forms, answers, rules)
    section_scores = np.where(sat[:, None], scores.section_scores, np.nan)
    total = np.where(sat, scores.total, np.nan)
    categories = np.array([r.category for r in registrations], dtype=object)
    outcome = evaluate_thresholds(
        scores.section_codes,
        np.nan_to_num(section_scores),
        np.nan_to_num(total),
        exam.rule_sets(),
        categories,
    )
    passed = outcome.passed & sat
    keys = np.array(
        [
            candidate_pseudonym(prepared.secret.encode(), exam.code, r.nomor_peserta)
            for r in registrations
        ],
        dtype=object,
    )
    ranked = rank_formations(
        RankInput(
            keys=keys,
            section_codes=scores.section_codes,
            section_scores=section_scores,
            total=total,
            passed=passed,
            sat=sat,
            columns={
                "grade_average": np.array(
                    [np.nan if r.grade_average is None else r.grade_average for r in registrations]
                ),
                "birth_date": np.array(
                    [np.datetime64(r.birth_date, "D") for r in registrations],
                    dtype="datetime64[D]",
                ),
            },
            display_key=keys,
        ),
        np.array([r.formation for r in registrations], dtype=object),
        exam.scoring_formations(),
        exam.tie_breaks(),
    )
    rows = {
        code: [
            {
                "rank": row.rank,
                "pseudonym": row.key,
                "status": row.status,
                "total": row.total,
                "sections": row.section_scores,
            }
            for row in ranking.rows()
        ]
        for code, ranking in ranked.items()
    }
    per_attempt = {}
    for i, registration in enumerate(registrations):
        attempt = db.attempts.get(registration.id)
        if attempt is not None and sat[i]:
            per_attempt[attempt.id] = (
                dict(zip(scores.section_codes, scores.section_scores[i].tolist(), strict=True)),
                float(scores.total[i]),
                bool(outcome.passed[i]),
            )
    return rows, per_attempt


def check_ranking(
    verdict: Verdict, db: DbState, prepared: Prepared, published: dict[str, Any] | None
) -> None:
    """(c): the published ranking equals the recount, row for row."""
    mine, per_attempt = recount(db, prepared)
    for attempt_id, (sections, total, passed) in per_attempt.items():
        stored = db.results.get(attempt_id)
        if stored is None:
            continue
        if (dict(stored.section_scores), float(stored.total), bool(stored.passed)) != (
            sections,
            total,
            passed,
        ):
            verdict.fail(
                f"RESULT: attempt {attempt_id} stored {stored.section_scores} total "
                f"{stored.total} passed {stored.passed}; recount {sections} {total} {passed}"
            )
    statuses: Counter[str] = Counter(row["status"] for rows in mine.values() for row in rows)
    verdict.facts["ranking_statuses"] = dict(sorted(statuses.items()))
    if published is None:
        verdict.fail("RANKING: nothing was published")
        return
    theirs = {view["formation"]["code"]: view["rows"] for view in published["formations"]}
    if set(theirs) != set(mine):
        verdict.fail(f"RANKING: formations published {sorted(theirs)}, expected {sorted(mine)}")
    compared = 0
    for code, rows in mine.items():
        got = theirs.get(code, [])
        if len(got) != len(rows):
            verdict.fail(f"RANKING {code}: {len(got)} rows published, {len(rows)} recounted")
        for k, (a, b) in enumerate(zip(got, rows, strict=False)):
            compared += 1
            if a != b:
                verdict.fail(f"RANKING {code} row {k + 1}: published {a}, recounted {b}")
                break
    verdict.facts["ranking_rows_compared"] = compared


def verify(
    prepared: Prepared,
    outcomes: list[Outcome],
    published: dict[str, Any] | None,
    pause: tuple[float, float, float, float] | None,
    var_dir: Any,
) -> Verdict:
    """Run checks (a), (b) and (c)."""
    verdict = Verdict()
    db = load(prepared, var_dir)
    by_nomor = {o.nomor: o for o in outcomes}
    check_answers(verdict, db, by_nomor)
    check_attempts(verdict, db, prepared, by_nomor, pause)
    check_ranking(verdict, db, prepared, published)
    return verdict
