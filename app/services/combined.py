"""Final selection from several stages (SKD 40 % + SKB 60 %), published as a ranking."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from app.errors import AppError, Conflict
from app.models.exam import ExamVersion
from app.models.result import RankingSnapshot
from app.repositories import exams as exam_repo
from app.repositories import results as result_repo
from app.repositories.results import CandidateRow
from app.services import audit, rankings
from app.services.exams import published_exam, spec_of
from app.services.rankings import RankingRow
from app.services.results import candidate_pseudonym
from exam_day import AttemptStatus
from item_bank.exam_spec import ExamSpec
from scoring.combined import Stage, StageResults, combine_stages, stage_column
from scoring.ranking import Formation, RankInput, TieBreakKey, rank_formations

STAGE_CODE_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,31}$"


@dataclass(frozen=True)
class StageIn:
    """One stage: an exam (its newest published version) and its weight in percent."""

    exam: str
    weight: float
    label: str | None = None


@dataclass(frozen=True)
class StageSummary:
    """One stage as the final selection used it."""

    exam: str
    label: str
    weight: float


@dataclass(frozen=True)
class CombinedSummary:
    """What a final selection combined: its code, the stages and the tie-break order."""

    code: str
    stages: tuple[StageSummary, ...]
    tie_breaks: tuple[str, ...]


@dataclass(frozen=True)
class FormationRows:
    """One formation's final ranking rows."""

    formation: Formation
    rows: list[RankingRow]


@dataclass(frozen=True)
class _LoadedStage:
    stage: StageIn
    label: str
    exam: ExamVersion
    spec: ExamSpec
    results: StageResults
    registrations: dict[str, CandidateRow]


def _stage_results(session: Session, stage: StageIn, label: str) -> _LoadedStage:
    exam = published_exam(session, stage.exam)
    if result_repo.running_attempts(session, exam.id):
        msg = f"attempts of {stage.exam} are still running; combine stages once they have finished"
        raise Conflict(msg)
    spec = spec_of(exam)
    rows = result_repo.candidates_of_exam(session, exam.id)
    keys = np.array([r.nomor_peserta for r in rows], dtype=object)
    codes = spec.section_codes
    total = np.full(len(rows), np.nan)
    scores = np.full((len(rows), len(codes)), np.nan)
    passed = np.zeros(len(rows), dtype=np.bool_)
    sat = np.zeros(len(rows), dtype=np.bool_)
    for i, row in enumerate(rows):
        if row.status in (None, AttemptStatus.READY):
            continue
        sat[i] = True
        finished = row.status == AttemptStatus.FINISHED
        if finished and row.total is not None and row.section_scores is not None:
            total[i] = row.total
            scores[i] = [row.section_scores.get(c, np.nan) for c in codes]
            passed[i] = bool(row.passed)
    results = StageResults(
        label, keys, total, codes, scores, passed if spec.categories else None, sat
    )
    return _LoadedStage(stage, label, exam, spec, results, {r.nomor_peserta: r for r in rows})


def combine(
    session: Session,
    code: str,
    stages: list[StageIn],
    *,
    secret: bytes,
    tie_breaks: list[str] | None = None,
) -> tuple[CombinedSummary, list[FormationRows]]:
    """The final ranking of the last stage's candidates, per the last stage's formations.

    Each candidate's score is ``sum(total / max x weight)`` over the stages; ties break by
    ``tie_breaks`` (stage totals such as ``SKD``, stage sections such as ``SKD.TKP``, roster
    fields ``grade_average`` or ``birth_date``; add ``:ascending`` to reverse), by default the
    first stage's total and its own tie-break sections, then the last stage's final
    tie-breaks (e.g. grade average, older first). Absent from any stage: TH.
    """
    if not 2 <= len(stages) <= 5:
        msg = "a combined selection has 2 to 5 stages"
        raise AppError(msg)
    if abs(sum(s.weight for s in stages) - 100) > 1e-9:
        msg = f"stage weights add up to {sum(s.weight for s in stages):g} %, not 100 %"
        raise AppError(msg)
    loaded = [
        _stage_results(session, stage, stage.label or stage.exam.split("-")[0]) for stage in stages
    ]
    labels = [s.label for s in loaded]
    if len(set(labels)) != len(labels):
        msg = f"stage labels repeat ({', '.join(labels)}); give each stage its own label"
        raise AppError(msg)
    last, first = loaded[-1], loaded[0]
    last_spec, last_registrations = last.spec, last.registrations
    keys = np.array(sorted(last_registrations), dtype=object)
    roster = {
        "grade_average": np.array(
            [
                np.nan
                if last_registrations[k].grade_average is None
                else last_registrations[k].grade_average
                for k in keys
            ]
        ),
        "birth_date": np.array(
            [
                np.datetime64("NaT")
                if last_registrations[k].birth_date is None
                else np.datetime64(last_registrations[k].birth_date, "D")
                for k in keys
            ],
            dtype="datetime64[D]",
        ),
    }
    pseudonyms = np.array([candidate_pseudonym(secret, code, k) for k in keys], dtype=object)
    candidates = combine_stages(
        [Stage(s.label, s.stage.weight, s.spec.max_total) for s in loaded],
        [s.results for s in loaded],
        keys,
        roster,
        display_key=pseudonyms,
    )
    if tie_breaks:
        keys_order = [_tie_break(t) for t in tie_breaks]
    else:
        keys_order = [TieBreakKey((stage_column(first.label),))]
        keys_order += [
            TieBreakKey(tuple(stage_column(first.label, s) for s in t.sections), t.descending)
            for t in first.spec.tie_breaks
            if t.sections
        ]
        keys_order += list(last_spec.final_tie_breaks)
    formations = last_spec.formations or (Formation("ALL", "", "", max(1, len(keys))),)
    formation_of = np.array(
        [last_registrations[k].formation if last_spec.formations else "ALL" for k in keys],
        dtype=object,
    )
    ranked = rank_formations(
        # Ranked and published by pseudonym: the nomor peserta only matched the stages.
        RankInput(
            keys=pseudonyms,
            section_codes=candidates.section_codes,
            section_scores=candidates.section_scores,
            total=candidates.total,
            passed=candidates.passed,
            sat=candidates.sat,
            columns=candidates.columns,
            display_key=pseudonyms,
        ),
        formation_of,
        formations,
        tuple(keys_order),
    )
    summary = CombinedSummary(
        code=code,
        stages=tuple(StageSummary(s.stage.exam, s.label, s.stage.weight) for s in loaded),
        tie_breaks=tuple(k.label for k in keys_order),
    )
    return summary, [
        FormationRows(ranking.formation, rankings.ranking_rows(ranking))
        for ranking in ranked.values()
    ]


def _tie_break(text: str) -> TieBreakKey:
    name, _, order = text.partition(":")
    descending = order != "ascending"
    if name in ("grade_average", "birth_date"):
        return TieBreakKey.by_column(name, descending=descending if order else name != "birth_date")
    return TieBreakKey((name,), descending)


def publish_combined(
    session: Session,
    code: str,
    stages: list[StageIn],
    *,
    secret: bytes,
    actor: str,
    now: datetime,
    tie_breaks: list[str] | None = None,
) -> tuple[CombinedSummary, list[rankings.Published]]:
    """Compute and publish the final ranking as snapshots under ``code`` (diffs as usual)."""
    summary, rows_by_formation = combine(
        session, code, stages, secret=secret, tie_breaks=tie_breaks
    )
    last_exam = exam_repo.latest_published(session, stages[-1].exam)
    assert last_exam is not None
    published = []
    for formation, rows in ((f.formation, f.rows) for f in rows_by_formation):
        previous = result_repo.latest_snapshot(session, code, formation.code)
        if previous is not None and previous.rows == rows:
            published.append(rankings.Published(formation.code, previous, "unchanged", 0))
            continue
        number = (previous.number + 1) if previous else 1
        content = {
            "combined": asdict(summary),
            "formation": formation.code,
            "number": number,
            "rows": rows,
            "supersedes": previous.content_hash if previous else None,
        }
        digest = rankings.content_hash(content)
        snapshot = result_repo.add_snapshot(
            session,
            RankingSnapshot(
                exam_code=code,
                exam_id=last_exam.id,
                formation=formation.code,
                number=number,
                rows=rows,
                content_hash=digest,
                signature=rankings.signature(secret, digest),
                cause="final selection: "
                + " + ".join(f"{s.label} {s.weight:g} %" for s in summary.stages),
                diff=None,
                supersedes_id=previous.id if previous else None,
                published_at=now,
                published_by=actor,
            ),
        )
        audit.record(
            session,
            at=now,
            actor=actor,
            action="ranking.publish_combined",
            subject=f"ranking:{code}:{formation.code}:{number}",
            payload={
                "content_hash": digest,
                "rows": len(rows),
                "stages": [asdict(s) for s in summary.stages],
            },
        )
        # Signed like every published ranking: checkable offline, carrying the audit heads.
        audit.sign_and_store(
            session,
            rankings.SNAPSHOT_KIND,
            f"ranking:{code}:{formation.code}:{number}",
            {
                **content,
                "content_hash": digest,
                "published_at": now.isoformat(),
                "audit_heads": audit.current_heads(session),
            },
            now,
        )
        published.append(rankings.Published(formation.code, snapshot, "published", 0))
    return summary, published
