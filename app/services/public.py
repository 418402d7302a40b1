"""What the public pages read: published rankings, a verified slip and the live board so far.

Nothing here carries a name, NIK or nomor peserta: candidates appear only by pseudonym.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.errors import AppError, NotFound
from app.repositories import exams as exam_repo
from app.repositories import public as public_repo
from app.repositories import results as result_repo
from app.repositories import sittings as sitting_repo
from app.services import live, rankings
from app.services.exams import spec_of
from app.services.results import verify_slip
from scoring.errors import ScoringError
from scoring.pseudonym import is_valid_pseudonym, normalize_pseudonym


@dataclass(frozen=True, slots=True)
class ExamRef:
    """An exam as the public pages name it."""

    code: str
    title: str


@dataclass(frozen=True, slots=True)
class RankedExam:
    """The exam a ranking belongs to (``version``: None when no version is published)."""

    code: str
    title: str
    version: int | None


@dataclass(frozen=True, slots=True)
class SectionRef:
    """A section column of a ranking."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ScoredSection:
    """A section column with its maximum score."""

    code: str
    name: str
    max: float


@dataclass(frozen=True, slots=True)
class FormationInfo:
    """A formation (an opening) of the exam, as the spec describes it."""

    code: str
    agency: str
    position: str
    openings: int | None
    cut: int | None


@dataclass(frozen=True, slots=True)
class RankChange:
    """How one candidate moved between a snapshot and the one it superseded, and why."""

    pseudonym: str
    old_rank: int | None
    new_rank: int | None
    old_status: str | None
    new_status: str | None
    old_total: float | None
    new_total: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A published snapshot: its number, seal and what changed since the previous one."""

    number: int
    published_at: str  # Python's str() of the timestamp, as this page has always printed it
    content_hash: str
    signature: str
    cause: str
    supersedes: bool
    changes: tuple[RankChange, ...]


@dataclass(frozen=True, slots=True)
class RankingRow:
    """One candidate of a published ranking (rank None: not within the cut)."""

    rank: int | None
    pseudonym: str
    status: str
    total: float | None
    sections: dict[str, float | None]


@dataclass(frozen=True, slots=True)
class PublishedFormation:
    """The newest snapshot of one formation."""

    formation: FormationInfo
    snapshot: SnapshotInfo
    rows: tuple[RankingRow, ...]


@dataclass(frozen=True, slots=True)
class RankingPage:
    """The published rankings of an exam (or the rows of one pseudonym)."""

    exam: RankedExam
    sections: tuple[SectionRef, ...]
    query: str | None
    formations: tuple[PublishedFormation, ...]

    def csv(self) -> str:
        """The page as the public CSV: one row per candidate per formation."""
        codes = tuple(s.code for s in self.sections)
        return rankings.rows_csv([asdict(f) for f in self.formations], codes)


def _query(q: str | None) -> str | None:
    if not q:
        return None
    try:
        query = normalize_pseudonym(q)
    except ScoringError as exc:
        msg = f"q: {q!r} is not a pseudonym (11 letters and digits, e.g. K7QX3-M9TP2-R)"
        raise AppError(msg, code="malformed") from exc
    if not is_valid_pseudonym(query):
        msg = f"q: {q!r} fails its check character: a letter or digit was mistyped"
        raise AppError(msg, code="mistyped")
    return query


def _formation(view: dict[str, Any]) -> PublishedFormation:
    snapshot = view["snapshot"]
    return PublishedFormation(
        formation=FormationInfo(**view["formation"]),
        snapshot=SnapshotInfo(
            number=snapshot["number"],
            published_at=str(snapshot["published_at"]),
            content_hash=snapshot["content_hash"],
            signature=snapshot["signature"],
            cause=snapshot["cause"],
            supersedes=snapshot["supersedes"],
            changes=tuple(RankChange(**change) for change in snapshot["changes"]),
        ),
        rows=tuple(RankingRow(**row) for row in view["rows"]),
    )


def ranking_page(
    session: Session, exam_code: str, *, q: str | None, formation: str | None
) -> RankingPage:
    """The newest snapshot of each formation (or only ``formation``), optionally only the rows
    of the pseudonym ``q``."""
    snapshots = result_repo.latest_snapshots(session, exam_code)
    if not snapshots:
        msg = f"no ranking of {exam_code!r} has been published"
        raise NotFound(msg)
    query = _query(q)
    # A final selection publishes under its own code: its columns are stages, not sections.
    exam = exam_repo.latest_published(session, exam_code)
    spec = spec_of(exam) if exam else None
    views = [
        rankings.snapshot_view(s, spec, query)
        for s in snapshots
        if formation is None or s.formation == formation
    ]
    if spec is not None:
        sections = tuple(SectionRef(s.code, s.name) for s in spec.sections)
    else:
        first = snapshots[0].rows
        sections = tuple(SectionRef(c, c) for c in (first[0]["sections"] if first else ()))
    return RankingPage(
        exam=RankedExam(
            code=exam_code,
            title=exam.title if exam else exam_code,
            version=exam.version if exam else None,
        ),
        sections=sections,
        query=query,
        formations=tuple(_formation(v) for v in views),
    )


@dataclass(frozen=True, slots=True)
class SlipSection:
    """A section score on a slip, with its maximum."""

    code: str
    name: str
    score: float | None
    max: float


@dataclass(frozen=True, slots=True)
class SlipRule:
    """A threshold applied to the candidate, with the sentence a candidate reads."""

    label: str
    value: float
    minimum: float
    passed: bool
    text: str


@dataclass(frozen=True, slots=True)
class Slip:
    """The scores on file for a slip's result (by pseudonym only)."""

    exam: ExamRef
    pseudonym: str
    sections: tuple[SlipSection, ...]
    total: float
    max_total: float | None
    passed: bool
    rules: tuple[SlipRule, ...]
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class SlipVerification:
    """Whether a slip code is authentic, why, and the valid scores when a result matches."""

    authentic: bool
    reason: str
    reason_code: str  # authentic | altered | unknown | malformed
    slip: Slip | None


def slip_verification(session: Session, secret: bytes, code: str) -> SlipVerification:
    """Check a slip code; the scores on file come back whenever the serial names a result."""
    check = verify_slip(session, secret, code)
    slip = None
    if check.result is not None:
        result = check.result
        exam = public_repo.exam_version(session, result.exam_id)
        spec = spec_of(exam) if exam else None
        slip = Slip(
            exam=ExamRef(exam.code if exam else "", exam.title if exam else ""),
            pseudonym=result.pseudonym,
            sections=tuple(
                SlipSection(s.code, s.name, result.section_scores.get(s.code), s.max_score)
                for s in (spec.sections if spec else ())
            ),
            total=result.total,
            max_total=spec.max_total if spec else None,
            passed=result.passed,
            rules=tuple(SlipRule(**rule) for rule in result.rules),
            computed_at=result.computed_at,
        )
    return SlipVerification(check.authentic, check.reason, check.code, slip)


@dataclass(frozen=True, slots=True)
class BoardSitting:
    """The sitting a live board shows."""

    id: int
    name: str
    site: str
    room: str
    status: str


@dataclass(frozen=True, slots=True)
class LiveBoard:
    """Every finished candidate of a sitting so far, by pseudonym."""

    sitting: BoardSitting
    exam: ExamRef
    sections: tuple[ScoredSection, ...]
    rows: tuple[live.BoardRow, ...]


def live_board(session: Session, sitting_id: int) -> LiveBoard:
    """The live board of a sitting as it stands."""
    found = sitting_repo.sitting_and_exam(session, sitting_id)
    if found is None:
        msg = f"no sitting {sitting_id}"
        raise NotFound(msg)
    sitting, exam = found
    spec = spec_of(exam)
    return LiveBoard(
        sitting=BoardSitting(sitting.id, sitting.name, sitting.site, sitting.room, sitting.status),
        exam=ExamRef(exam.code, exam.title),
        sections=tuple(ScoredSection(s.code, s.name, s.max_score) for s in spec.sections),
        rows=tuple(row for _i, row in live.board_rows(session, sitting_id, None)),
    )
