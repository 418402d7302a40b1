"""Integrity and fairness analytics of an exam from its stored evidence.

The statistics live in :mod:`scoring.integrity`, :mod:`scoring.dif` and
:mod:`scoring.comparability`; this module only reads the database into their arrays and turns
their results into the committee's report. A flag is evidence for a human decision: nothing here
decides anything, and a decision is recorded only by :func:`record_decision`.

Response times per item come from the item views the candidate screen reports (from the
latest view of an item to its first answer) and, where no view was reported, from the answer
history (from the previous saved answer, or the start, to the item's first answer).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.models.integrity import IntegrityDecision
from app.repositories import integrity as repo
from app.services import audit
from app.services.exams import published_exam
from app.services.runtime import ExamRuntime, load_runtime
from app.web.i18n import translate
from scoring.comparability import GroupComparison, compare_forms, compare_groups
from scoring.dif import DIFClass, mantel_haenszel_dif
from scoring.integrity.common import IntegrityInputError
from scoring.integrity.evidence import IntegrityAnalysis, IntegrityFlag, analyse_integrity
from scoring.irt import ItemParams
from scoring.rules import MAX_OPTIONS
from scoring.svgplot import ScatterPoint, scatter_svg

#: Seats per room row when the seat numbers run row by row (overridable per report).
DEFAULT_ROW_LENGTH: Final = 10
#: Most views one batch may carry (a candidate moving through 110 items between two saves
#: reports at most this many; older views of the batch are dropped by the screen).
MAX_VIEWS_PER_BATCH: Final = 64
#: Roster fields a DIF analysis can group by.
GROUP_FIELDS: Final = ("region", "gender", "category")
LANGUAGES: Final = ("id", "en")


class Decision(StrEnum):
    """What the committee decided about a flagged attempt."""

    CLEARED = "cleared"
    REFERRED = "referred"
    DISQUALIFIED = "disqualified_by_committee"


@dataclass(frozen=True, slots=True)
class FlagEntry:
    """One flag of an attempt: its kind, reason in both languages, strength and figures."""

    code: str
    reason_id: str
    reason_en: str
    strength: float | None
    figures: dict[str, float]


@dataclass(frozen=True, slots=True)
class DecisionEntry:
    """The standing committee decision of an attempt."""

    decision: str
    reason: str
    actor: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class AttemptEntry:
    """A flagged attempt in the committee's ranking."""

    rank: int
    attempt_id: int
    nomor_peserta: str
    name: str
    sitting_id: int
    sitting_name: str
    seat: int | None
    strength: float
    flags: tuple[FlagEntry, ...]
    decision: DecisionEntry | None
    replay_url: str
    time_strip_svg: str


@dataclass(frozen=True, slots=True)
class GroupRow:
    """Score distribution and pass rate of one sitting or site."""

    group: str
    n: int
    mean: float
    sd: float
    mean_low: float
    mean_high: float
    passed: int
    pass_rate: float
    pass_low: float
    pass_high: float


@dataclass(frozen=True, slots=True)
class Comparability:
    """Scores and pass rates compared across the sittings or sites of an exam."""

    by: str
    groups: tuple[GroupRow, ...]
    anova_p: float
    kruskal_wallis_p: float
    pass_rates_p: float | None


@dataclass(frozen=True, slots=True)
class FormRow:
    """One distinct form (set of items) and how its expected score differs from the most
    common form's, by the exam's IRT parameters."""

    form: str
    attempts: int
    sites: tuple[str, ...]
    items: int
    max_abs_difference: float
    mean_difference: float


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """The committee's integrity report of an exam version (or one sitting of it)."""

    exam_code: str
    exam_title: str
    sitting_id: int | None
    attempts_analysed: int
    items: int
    row_length: int
    flagged: tuple[AttemptEntry, ...]
    room_map_svg: str
    comparability: tuple[Comparability, ...]
    #: Empty unless every item has IRT parameters and the attempts sat more than one form.
    forms: tuple[FormRow, ...] = ()


@dataclass(frozen=True, slots=True)
class DIFItem:
    """One item's Mantel-Haenszel DIF against the reference group."""

    code: str
    focal: str
    n_reference: int
    n_focal: int
    delta: float | None
    delta_se: float | None
    p_value: float | None
    dif_class: str
    correction_url: str


@dataclass(frozen=True, slots=True)
class DIFReport:
    """DIF of every item for each focal group of a roster field."""

    exam_code: str
    group_field: str
    reference: str
    group_sizes: dict[str, int]
    small_sample: tuple[str, ...]
    items: tuple[DIFItem, ...]

    @property
    def flagged(self) -> tuple[DIFItem, ...]:
        """Items classed B or C for some focal group."""
        return tuple(item for item in self.items if item.dif_class != DIFClass.A.value)


@dataclass(frozen=True, slots=True)
class _Loaded:
    runtime: ExamRuntime
    rows: list[repo.AttemptRow]
    responses: NDArray[np.int16]
    times: NDArray[np.float64]
    events: tuple[list[int], list[int], list[int], list[float]]
    # Sitting of each attempt row: the similarity index pairs seats only within a sitting.
    sittings: list[int]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _load(session: Session, exam_code: str, sitting_id: int | None) -> _Loaded:
    exam = published_exam(session, exam_code)
    runtime = load_runtime(session, exam.id)
    rows = repo.finished_attempts(session, exam.id, sitting_id)
    if not rows:
        where = f"sitting {sitting_id} of {exam_code}" if sitting_id is not None else exam_code
        msg = f"no finished attempts of {where} yet"
        raise Conflict(msg)
    n_items = len(runtime.row_of)
    index = {row.attempt_id: i for i, row in enumerate(rows)}
    responses = np.full((len(rows), n_items), -2, dtype=np.int16)
    times = np.full((len(rows), n_items), np.nan)
    # Column of each (attempt row, position); -1 for an adaptive position never given.
    column_of: list[list[int]] = []
    for i, row in enumerate(rows):
        cols = [
            -1 if entry is None else runtime.row_of.get(entry.item_id, -1) for entry in row.form
        ]
        column_of.append(cols)
        for col in cols:
            if col >= 0:
                responses[i, col] = -1
    ids = [row.attempt_id for row in rows]
    # Latest reported view of each (attempt, position), in server time.
    seen: dict[tuple[int, int], list[datetime]] = {}
    for attempt_id, received_at, views in repo.view_batches(session, ids):
        # Each view is [position, ms before its batch was sent]: server time minus that age.
        for position, age in views:
            at = received_at - timedelta(milliseconds=int(age))
            seen.setdefault((attempt_id, int(position)), []).append(at)
    ev_rows: list[int] = []
    ev_cols: list[int] = []
    ev_options: list[int] = []
    ev_times: list[float] = []
    previous: dict[int, datetime] = {}
    answered: set[tuple[int, int]] = set()
    for attempt_id, position, option, at in repo.answer_events(session, ids):
        i = index[attempt_id]
        cols = column_of[i]
        col = cols[position - 1] if 0 < position <= len(cols) else -1
        if col < 0:
            continue
        ev_rows.append(i)
        ev_cols.append(col)
        ev_options.append(-1 if option is None else option)
        ev_times.append(at.timestamp())
        responses[i, col] = -1 if option is None else option
        if (i, col) not in answered:
            answered.add((i, col))
            views_of = [v for v in seen.get((attempt_id, position), []) if v <= at]
            start = max(views_of) if views_of else previous.get(i, rows[i].started_at)
            if start is not None:
                times[i, col] = max((at - start).total_seconds(), 0.0)
        previous[i] = at
    return _Loaded(
        runtime,
        rows,
        responses,
        times,
        (ev_rows, ev_cols, ev_options, ev_times),
        [row.sitting_id for row in rows],
    )


def _params(session: Session, runtime: ExamRuntime) -> ItemParams | None:
    """The exam's IRT parameters by item column, when every item has them (else None: person
    fit then estimates difficulties itself)."""
    by_row = sorted(runtime.row_of.items(), key=lambda pair: pair[1])
    stored = repo.irt_parameters(session, [item_id for item_id, _row in by_row])
    rows = [stored.get(item_id, (None, None, None)) for item_id, _row in by_row]
    if not rows or any(a is None or b is None for a, b, _c in rows):
        return None
    return ItemParams(
        a=np.array([a for a, _b, _c in rows], dtype=float),
        b=np.array([b for _a, b, _c in rows], dtype=float),
        c=np.array([c or 0.0 for _a, _b, c in rows], dtype=float),
    )


def _guessing(runtime: ExamRuntime) -> float:
    # Person fit's lower asymptote: 1/options on multiple-choice sections, 0 where options are
    # weighted (every option earns something, there is no lucky guess).
    kinds = {s.scoring.kind.value for s in runtime.spec.sections}
    if "weighted" in kinds:
        return 0.0
    options = [len(content.options) for content in runtime.items.values()]
    return 1.0 / float(np.median(options)) if options else 0.0


def _reason(flag: IntegrityFlag, language: str, seat_of_row: dict[int, int | None]) -> str:
    f = flag.figures
    params: dict[str, object] = {}
    for name, value in f.items():
        if name in {"p_value"}:
            params[name] = f"{value:.2g}"
        elif name in {"expected", "z", "omega", "fast_lt"}:
            params[name] = f"{value:.1f}"
        elif name == "lz":
            params[name] = f"{value:.2f}"
        else:
            params[name] = f"{value:.0f}"
    if "neighbour" in f:
        seat = seat_of_row.get(int(f["neighbour"]))
        params["seat"] = "?" if seat is None else str(seat)
    return translate(language, flag.reason_key, **params)


def _time_strip(times: NDArray[np.float64], language: str, attempt_id: int) -> str:
    answered = [(j, t) for j, t in enumerate(times.tolist()) if math.isfinite(t)]
    top = max([t for _j, t in answered], default=60.0)
    points = [
        ScatterPoint(float(k + 1), float(t), f"{t:.0f} s", highlighted=t < 10.0)
        for k, (_j, t) in enumerate(answered)
    ]
    return scatter_svg(
        points,
        title=translate(language, "integrity.plot.time_strip"),
        x_label=translate(language, "integrity.plot.answer_order"),
        y_label=translate(language, "integrity.plot.seconds"),
        x_range=(0.0, float(max(len(answered), 1) + 1)),
        y_range=(0.0, float(top) * 1.1 + 1.0),
        element_id=f"time-strip-{attempt_id}",
        width=420,
        height=180,
    )


def _room_map(
    rows: Sequence[repo.AttemptRow], flagged: set[int], row_length: int, language: str
) -> str:
    seated = [(r.seat, r) for r in rows if r.seat is not None and r.seat > 0]
    points = [
        ScatterPoint(
            float((seat - 1) % row_length + 1),
            float((seat - 1) // row_length + 1),
            str(seat),
            highlighted=row.attempt_id in flagged,
        )
        for seat, row in seated
    ]
    n_rows = max([(seat - 1) // row_length + 1 for seat, _r in seated], default=1)
    return scatter_svg(
        points,
        title=translate(language, "integrity.plot.room_map"),
        x_label=translate(language, "integrity.plot.seat_in_row"),
        y_label=translate(language, "integrity.plot.row"),
        x_range=(0.0, float(row_length + 1)),
        y_range=(0.0, float(n_rows + 1)),
        element_id="room-map",
        width=480,
        height=max(160, 40 * n_rows + 80),
    )


def _comparability(session: Session, rows: Sequence[repo.AttemptRow]) -> tuple[Comparability, ...]:
    results = repo.results_of(session, [r.attempt_id for r in rows])
    scored = [(r, results[r.attempt_id]) for r in rows if r.attempt_id in results]
    found = []
    for by in ("sitting", "site"):
        labels = [r.sitting_name if by == "sitting" else r.site for r, _result in scored]
        if len(set(labels)) < 2:
            continue
        comparison: GroupComparison = compare_groups(
            [total for _r, (total, _p) in scored],
            labels,
            passed=[passed for _r, (_t, passed) in scored],
        )
        found.append(
            Comparability(
                by,
                tuple(
                    GroupRow(
                        g.group,
                        g.n,
                        g.mean,
                        g.sd,
                        g.mean_ci[0],
                        g.mean_ci[1],
                        g.passed,
                        g.pass_rate,
                        g.pass_ci[0],
                        g.pass_ci[1],
                    )
                    for g in comparison.groups
                ),
                comparison.anova.p_value,
                comparison.kruskal_wallis.p_value,
                None if comparison.pass_rates is None else comparison.pass_rates.p_value,
            )
        )
    return tuple(found)


#: Distinct forms compared at most (the most common ones), so a pool drawn per candidate does
#: not list a form per attempt.
MAX_FORMS: Final = 20


def _forms(data: _Loaded, params: ItemParams | None) -> tuple[FormRow, ...]:
    if params is None:
        return ()
    members: dict[tuple[int, ...], list[int]] = {}
    for i in range(len(data.rows)):
        key = tuple(np.flatnonzero(data.responses[i] != -2).tolist())
        members.setdefault(key, []).append(i)
    if len(members) < 2:
        return ()
    ranked = sorted(members.items(), key=lambda pair: (-len(pair[1]), pair[0]))[:MAX_FORMS]
    labels = {key: f"F{n}" for n, (key, _rows) in enumerate(ranked, start=1)}
    comparison = compare_forms(params, {labels[key]: list(key) for key, _rows in ranked})
    by_label = {labels[key]: rows for key, rows in ranked}
    return tuple(
        FormRow(
            form=label,
            attempts=len(by_label[label]),
            sites=tuple(sorted({data.rows[i].site for i in by_label[label]})),
            items=comparison.n_items[k],
            max_abs_difference=float(comparison.max_abs_difference[k]),
            mean_difference=float(comparison.mean_difference[k]),
        )
        for k, label in enumerate(comparison.forms)
    )


def integrity_report(
    session: Session,
    exam_code: str,
    *,
    sitting_id: int | None = None,
    row_length: int = DEFAULT_ROW_LENGTH,
    language: str = "id",
) -> IntegrityReport:
    """Every integrity index of the exam's (or sitting's) finished attempts, ranked.

    Raises:
        NotFound: The exam has no published version.
        Conflict: No attempt is finished yet.
        IntegrityInputError: ``row_length`` is below 1.
    """
    if row_length < 1:
        msg = f"row_length must be at least 1, got {row_length}"
        raise IntegrityInputError(msg)
    data = _load(session, exam_code, sitting_id)
    runtime, rows = data.runtime, data.rows
    seats = [r.seat or 0 for r in rows]
    seated = any(s > 0 for s in seats)
    ids = [r.attempt_id for r in rows]
    moves = repo.audit_counts(session, ids, repo.DEVICE_MOVE_ACTIONS)
    pauses = repo.audit_counts(session, ids, repo.PAUSE_ACTIONS)
    params = _params(session, runtime)
    analysis: IntegrityAnalysis = analyse_integrity(
        data.responses,
        option_points=runtime.table.points[:, :MAX_OPTIONS],
        times=data.times if np.isfinite(data.times).any() else None,
        events=data.events if data.events[0] else None,
        sitting=data.sittings if seated else None,
        seat=seats if seated else None,
        row_length=row_length,
        params=params,
        guessing=_guessing(runtime),
        device_moves=[moves.get(i, 0) for i in ids],
        pauses=[pauses.get(i, 0) for i in ids],
    )
    decisions = repo.latest_decisions(session, [ids[e.attempt] for e in analysis.ranking])
    seat_of_row = {i: r.seat for i, r in enumerate(rows)}
    flagged: list[AttemptEntry] = []
    for rank, evidence in enumerate(analysis.ranking, start=1):
        row = rows[evidence.attempt]
        decision = decisions.get(row.attempt_id)
        flagged.append(
            AttemptEntry(
                rank=rank,
                attempt_id=row.attempt_id,
                nomor_peserta=row.nomor_peserta,
                name=row.name,
                sitting_id=row.sitting_id,
                sitting_name=row.sitting_name,
                seat=row.seat,
                strength=evidence.strength,
                flags=tuple(
                    FlagEntry(
                        flag.code.value,
                        _reason(flag, "id", seat_of_row),
                        _reason(flag, "en", seat_of_row),
                        flag.strength,
                        dict(flag.figures),
                    )
                    for flag in evidence.flags
                ),
                decision=None
                if decision is None
                else DecisionEntry(
                    decision.decision, decision.reason, decision.actor, decision.decided_at
                ),
                replay_url=f"/api/v1/attempts/{row.attempt_id}/replay",
                time_strip_svg=_time_strip(data.times[evidence.attempt], language, row.attempt_id),
            )
        )
    return IntegrityReport(
        exam_code=runtime.code,
        exam_title=runtime.title,
        sitting_id=sitting_id,
        attempts_analysed=len(rows),
        items=data.responses.shape[1],
        row_length=row_length,
        flagged=tuple(flagged),
        room_map_svg=_room_map(rows, {a.attempt_id for a in flagged}, row_length, language)
        if seated
        else "",
        comparability=_comparability(session, rows),
        forms=_forms(data, params),
    )


#: The audit action of a staff member reading an integrity report (every flagged attempt's
#: answer times, changes and neighbours: answer history in summary).
REPORT_VIEWED = "integrity.report_viewed"


def record_report_view(
    session: Session, report: IntegrityReport, *, actor: str, now: datetime, export: str | None
) -> None:
    """Audit who read an integrity report and when: on the sitting's chain for one sitting,
    else on the staff chain, naming the flagged attempts whose evidence it showed."""
    audit.record(
        session,
        at=now,
        actor=actor,
        action=REPORT_VIEWED,
        subject=f"exam:{report.exam_code}",
        payload={
            "sitting": report.sitting_id,
            "attempts_analysed": report.attempts_analysed,
            "flagged": [entry.attempt_id for entry in report.flagged],
            "export": export,
        },
        chain=(
            audit.sitting_chain(report.sitting_id)
            if report.sitting_id is not None
            else audit.GLOBAL_CHAIN
        ),
    )


def record_decision(
    session: Session,
    attempt_id: int,
    decision: Decision | str,
    reason: str,
    *,
    actor: str,
    now: datetime,
) -> DecisionEntry:
    """Record a committee member's decision on an attempt, audited on the attempt's chain.

    Raises:
        NotFound: No such attempt.
        IntegrityInputError: An unknown decision or an empty reason.
    """
    try:
        chosen = Decision(decision)
    except ValueError:
        msg = f"unknown decision {decision!r}; expected {', '.join(d.value for d in Decision)}"
        raise IntegrityInputError(msg) from None
    text = reason.strip()
    if not text:
        msg = "a decision needs its reason (the committee's own words)"
        raise IntegrityInputError(msg)
    if repo.attempt_for_decision(session, attempt_id) is None:
        msg = f"no attempt {attempt_id}"
        raise NotFound(msg)
    stored = repo.add_decision(
        session,
        IntegrityDecision(
            attempt_id=attempt_id, decision=chosen.value, reason=text, actor=actor, decided_at=now
        ),
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="integrity.decision",
        subject=f"attempt:{attempt_id}",
        payload={"decision": chosen.value, "reason": text},
        chain=audit.attempt_chain(attempt_id),
    )
    return DecisionEntry(stored.decision, stored.reason, stored.actor, stored.decided_at)


def record_views(
    session: Session, attempt_id: int, views: Sequence[Sequence[int]], *, now: datetime
) -> int:
    """Store one batch of item views ``[[position, ms before sending], ...]`` stamped ``now``.

    The batch is cut to its newest :data:`MAX_VIEWS_PER_BATCH` views; returns how many were kept.
    """
    kept = [[int(p), int(o)] for p, o in list(views)[-MAX_VIEWS_PER_BATCH:]]
    if kept:
        repo.add_view_batch(session, attempt_id, now, kept)
    return len(kept)


def views_of(session: Session, attempt_id: int) -> dict[int, list[datetime]]:
    """When each position of an attempt was shown (server time), oldest first."""
    shown: dict[int, list[datetime]] = {}
    for _attempt, received_at, views in repo.view_batches(session, [attempt_id]):
        for position, age in views:
            shown.setdefault(int(position), []).append(
                received_at - timedelta(milliseconds=int(age))
            )
    return {position: sorted(times) for position, times in shown.items()}


def dif_report(
    session: Session,
    exam_code: str,
    group_field: str,
    *,
    reference: str | None = None,
    purify: bool = True,
) -> DIFReport:
    """Mantel-Haenszel DIF (ETS A/B/C) of every item for the groups of a roster field.

    The reference group is ``reference`` or, by default, the largest group.

    Raises:
        IntegrityInputError: An unknown field, fewer than two groups, or an unknown reference.
        Conflict: No attempt is finished yet.
    """
    if group_field not in GROUP_FIELDS:
        msg = f"cannot group by {group_field!r}; expected one of {', '.join(GROUP_FIELDS)}"
        raise IntegrityInputError(msg)
    data = _load(session, exam_code, None)
    labels = [getattr(row, group_field) or "" for row in data.rows]
    sizes: dict[str, int] = {}
    for label in labels:
        if label:
            sizes[label] = sizes.get(label, 0) + 1
    if len(sizes) < 2:
        msg = (
            f"DIF needs at least two {group_field} groups among the finished attempts; "
            f"found {len(sizes)} (add the {group_field} column to the roster)"
        )
        raise IntegrityInputError(msg)
    chosen = reference or max(sorted(sizes), key=lambda name: sizes[name])
    if chosen not in sizes:
        msg = f"no finished attempt is in the {group_field} group {chosen!r}"
        raise IntegrityInputError(msg)
    analysis = analyse_integrity(
        data.responses, option_points=data.runtime.table.points[:, :MAX_OPTIONS]
    )
    result = mantel_haenszel_dif(analysis.scored, labels, chosen, purify=purify, min_focal=100)
    by_row = sorted(data.runtime.row_of.items(), key=lambda pair: pair[1])
    codes = [data.runtime.items[item_id].code for item_id, _row in by_row]
    items: list[DIFItem] = []
    for comparison in result.comparisons:
        for j, code in enumerate(codes):
            items.append(
                DIFItem(
                    code=code,
                    focal=comparison.focal,
                    n_reference=int(comparison.n_reference_item[j]),
                    n_focal=int(comparison.n_focal_item[j]),
                    delta=_finite(float(comparison.delta[j])),
                    delta_se=_finite(float(comparison.delta_se[j])),
                    p_value=_finite(float(comparison.p_value[j])),
                    dif_class=comparison.dif_class[j].value,
                    correction_url=f"/committee/corrections?exam={data.runtime.code}&item={code}",
                )
            )
    return DIFReport(
        exam_code=data.runtime.code,
        group_field=group_field,
        reference=chosen,
        group_sizes=sizes,
        small_sample=tuple(c.focal for c in result.comparisons if c.small_sample),
        items=tuple(items),
    )


#: Columns of the flat export (one row per flag).
EXPORT_COLUMNS: Final = (
    "rank",
    "attempt_id",
    "nomor_peserta",
    "sitting",
    "seat",
    "strength",
    "flag",
    "reason_id",
    "reason_en",
    "decision",
    "replay_url",
)


def export_rows(report: IntegrityReport) -> list[list[object]]:
    """The report as rows of :data:`EXPORT_COLUMNS`, one per flag."""
    rows: list[list[object]] = []
    for entry in report.flagged:
        for flag in entry.flags:
            rows.append(
                [
                    entry.rank,
                    entry.attempt_id,
                    entry.nomor_peserta,
                    entry.sitting_name,
                    "" if entry.seat is None else entry.seat,
                    round(entry.strength, 3),
                    flag.code,
                    flag.reason_id,
                    flag.reason_en,
                    "" if entry.decision is None else entry.decision.decision,
                    entry.replay_url,
                ]
            )
    return rows


def export_csv(report: IntegrityReport) -> str:
    """The report as CSV (UTF-8, header row)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(export_rows(report))
    return out.getvalue()


def export_xlsx(report: IntegrityReport) -> bytes:
    """The report as an XLSX workbook (one sheet, header row)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "integrity"
    sheet.append(list(EXPORT_COLUMNS))
    for row in export_rows(report):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
