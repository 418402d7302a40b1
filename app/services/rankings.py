"""Rankings: compute per formation, publish immutable signed snapshots, diff, serve publicly."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

import numpy as np
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.models.exam import ExamVersion
from app.models.result import RankingSnapshot
from app.repositories import results as repo
from app.repositories.results import CandidateRow
from app.services import audit, verification
from app.services.exams import published_exam, spec_of
from app.services.results import pseudonym_key
from app.signing import Signer
from exam_day import AttemptStatus
from item_bank.exam_spec import ExamSpec
from scoring.pseudonym import pseudonyms
from scoring.ranking import Formation, Ranking, RankInput, diff_rankings, rank_formations


@dataclass
class Computed:
    """Rankings of every formation of an exam version, keyed by pseudonym."""

    exam: ExamVersion
    spec: ExamSpec
    rankings: dict[str, Ranking]


def _roster_columns(rows: list[CandidateRow]) -> dict[str, np.ndarray]:
    grades = np.array(
        [np.nan if r.grade_average is None else r.grade_average for r in rows], dtype=np.float64
    )
    births = np.array(
        [
            np.datetime64("NaT") if r.birth_date is None else np.datetime64(r.birth_date, "D")
            for r in rows
        ],
        dtype="datetime64[D]",
    )
    return {"grade_average": grades, "birth_date": births}


def compute(session: Session, exam: ExamVersion, secret: bytes) -> Computed:
    """Rank every registered candidate of ``exam`` per formation (keys are pseudonyms).

    Registered but never started: TH. Voided attempts and those below their category's
    thresholds: T/L. Everyone else is ranked by total and the exam's tie-breaks.
    """
    spec = spec_of(exam)
    rows = repo.candidates_of_exam(session, exam.id)
    codes = spec.section_codes
    n = len(rows)
    keys = np.array(
        pseudonyms(pseudonym_key(secret), exam.code, [r.nomor_peserta for r in rows]), dtype=object
    )
    scores = np.full((n, len(codes)), np.nan)
    total = np.full(n, np.nan)
    passed = np.zeros(n, dtype=np.bool_)
    sat = np.array([r.status not in (None, AttemptStatus.READY) for r in rows], dtype=np.bool_)
    for i, row in enumerate(rows):
        if (
            row.status == AttemptStatus.FINISHED
            and row.total is not None
            and row.section_scores is not None
        ):
            scores[i] = [row.section_scores.get(c, 0.0) for c in codes]
            total[i] = row.total
            passed[i] = bool(row.passed)
    candidates = RankInput(
        keys=keys,
        section_codes=codes,
        section_scores=scores,
        total=total,
        passed=passed,
        sat=sat,
        columns=_roster_columns(rows),
        display_key=keys,
    )
    formation_of = np.array([r.formation for r in rows], dtype=object)
    formations = spec.formations or (Formation("ALL", "", "", max(1, n)),)
    if not spec.formations:
        formation_of = np.array(["ALL"] * n, dtype=object)
    tie_breaks = spec.tie_breaks + spec.final_tie_breaks
    return Computed(exam, spec, rank_formations(candidates, formation_of, formations, tie_breaks))


class RankingRow(TypedDict):
    """One published row, as stored in a snapshot and served (JSON: null for no score)."""

    rank: int | None
    pseudonym: str
    status: str
    total: float | None
    sections: dict[str, float | None]


def ranking_rows(ranking: Ranking) -> list[RankingRow]:
    """A ranking as public rows: rank, pseudonym, status, total, section scores."""
    return [
        RankingRow(
            rank=row.rank,
            pseudonym=str(row.key),
            status=row.status,
            total=repo.jsonable(row.total),
            sections={k: repo.jsonable(v) for k, v in row.section_scores.items()},
        )
        for row in ranking.rows()
    ]


def ranking_from_rows(
    formation: Formation, section_codes: tuple[str, ...], rows: Sequence[Mapping[str, Any]]
) -> Ranking:
    """Rebuild a stored snapshot's ranking (for diffs)."""
    n = len(rows)
    return Ranking(
        formation,
        section_codes,
        np.array([r["pseudonym"] for r in rows], dtype=object),
        np.array([r["rank"] or 0 for r in rows], dtype=np.int64),
        np.array([r["status"] for r in rows], dtype=np.str_) if n else np.array([], dtype=np.str_),
        np.array([np.nan if r["total"] is None else r["total"] for r in rows], dtype=np.float64),
        np.array(
            [
                [
                    np.nan if r["sections"].get(c) is None else r["sections"][c]
                    for c in section_codes
                ]
                for r in rows
            ],
            dtype=np.float64,
        ).reshape(n, len(section_codes)),
    )


def content_hash(payload: Mapping[str, object]) -> str:
    """SHA-256 over the canonical JSON of a snapshot's content."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


#: The purpose a snapshot signature's key is derived for: stored signatures depend on it.
SNAPSHOT_PURPOSE = "ranking-snapshot"
#: The ``kind`` of a snapshot's Ed25519-signed document (``ujian verify`` prints it).
SNAPSHOT_KIND = "ujian-ranking-snapshot"


def signature(secret: bytes, digest: str) -> str:
    """The server's HMAC over a snapshot's content hash (hex)."""
    return Signer(secret, SNAPSHOT_PURPOSE).sign(digest)


@dataclass(frozen=True)
class Published:
    """One formation's outcome of a publication."""

    formation: str
    snapshot: RankingSnapshot | None
    outcome: str  # "published", "unchanged"
    changes: int

    @property
    def number(self) -> int | None:
        """The snapshot's number within its formation (the one kept when unchanged)."""
        return self.snapshot.number if self.snapshot else None

    @property
    def content_hash(self) -> str | None:
        """The snapshot's content hash."""
        return self.snapshot.content_hash if self.snapshot else None


def publish(
    session: Session,
    exam_code: str,
    *,
    secret: bytes,
    actor: str,
    now: datetime,
    formation: str | None = None,
    cause: str = "publication",
    formations: set[str] | None = None,
) -> list[Published]:
    """Publish snapshots of the newest published exam version's rankings.

    A snapshot is immutable; publishing again with unchanged rows adds nothing, changed rows
    add a new snapshot that supersedes the previous one and records who moved and why.
    Refused while any attempt of the exam is still running, and when any stored result does not
    match its recomputation from the answer history (the error names the attempts).
    """
    exam = published_exam(session, exam_code)
    running = repo.running_attempts(session, exam.id)
    if running:
        msg = (
            f"{running} attempt(s) of {exam_code} are still running; "
            "publish when they have finished"
        )
        raise Conflict(msg)
    # Nothing is published from a stored result its own record does not give.
    verification.refuse_on_mismatch(
        verification.verify(session, exam_code), "publishing the ranking"
    )
    computed = compute(session, exam, secret)
    if formation is not None and formation not in computed.rankings:
        msg = f"exam {exam_code} has no formation {formation!r}"
        raise NotFound(msg)
    out: list[Published] = []
    for code, ranking in computed.rankings.items():
        if (formation is not None and code != formation) or (
            formations is not None and code not in formations
        ):
            continue
        rows = ranking_rows(ranking)
        previous = repo.latest_snapshot(session, exam.code, code)
        if previous is not None and previous.rows == rows and previous.exam_id == exam.id:
            out.append(Published(code, previous, "unchanged", 0))
            continue
        diff: list[dict[str, object]] | None = None
        if previous is not None:
            old = ranking_from_rows(ranking.formation, ranking.section_codes, previous.rows)
            new = ranking_from_rows(ranking.formation, ranking.section_codes, rows)
            changes = diff_rankings(old, new, cause).changes
            diff = [
                {
                    "pseudonym": c.key,
                    "old_rank": c.old_rank,
                    "new_rank": c.new_rank,
                    "old_status": c.old_status,
                    "new_status": c.new_status,
                    "old_total": repo.jsonable(c.old_total),
                    "new_total": repo.jsonable(c.new_total),
                    "reason": c.reason,
                }
                for c in changes
            ]
        number = (previous.number + 1) if previous else 1
        content = {
            "exam": exam.code,
            "exam_version": exam.version,
            "formation": code,
            "number": number,
            "rows": rows,
            "supersedes": previous.content_hash if previous else None,
        }
        digest = content_hash(content)
        snapshot = repo.add_snapshot(
            session,
            RankingSnapshot(
                exam_code=exam.code,
                exam_id=exam.id,
                formation=code,
                number=number,
                rows=rows,
                content_hash=digest,
                signature=signature(secret, digest),
                cause=cause,
                diff=diff,
                supersedes_id=previous.id if previous else None,
                published_at=now,
                published_by=actor,
            ),
        )
        audit.record(
            session,
            at=now,
            actor=actor,
            action="ranking.publish",
            subject=f"ranking:{exam.code}:{code}:{number}",
            payload={
                "content_hash": digest,
                "rows": len(rows),
                "cause": cause,
                "changes": len(diff or []),
            },
        )
        # Signed with the public key, with every audit chain's head at this moment: anyone
        # can check the snapshot offline, and the heads anchor the log off the server.
        audit.sign_and_store(
            session,
            SNAPSHOT_KIND,
            f"ranking:{exam.code}:{code}:{number}",
            {
                **content,
                "content_hash": digest,
                "published_at": now.isoformat(),
                "audit_heads": audit.current_heads(session),
            },
            now,
        )
        out.append(Published(code, snapshot, "published", len(diff or [])))
    return out


def snapshot_view(
    snapshot: RankingSnapshot, spec: ExamSpec | None, query: str | None = None
) -> dict[str, Any]:
    """The public view of one snapshot (optionally only the rows matching a pseudonym)."""
    formation = None
    if spec is not None:
        formation = next((f for f in spec.formations if f.code == snapshot.formation), None)
    rows = snapshot.rows
    if query:
        rows = [r for r in rows if r["pseudonym"].replace("-", "") == query.replace("-", "")]
    return {
        "formation": {
            "code": snapshot.formation,
            "agency": formation.agency if formation else "",
            "position": formation.position if formation else "",
            "openings": formation.openings if formation else None,
            "cut": formation.cut if formation else None,
        },
        "snapshot": {
            "number": snapshot.number,
            "published_at": snapshot.published_at,
            "content_hash": snapshot.content_hash,
            "signature": snapshot.signature,
            "cause": snapshot.cause,
            "supersedes": snapshot.supersedes_id is not None,
            "changes": snapshot.diff or [],
        },
        "rows": rows,
    }


def rows_csv(views: list[dict[str, Any]], section_codes: tuple[str, ...]) -> str:
    """The public CSV: one row per candidate per formation."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["formation", "rank", "pseudonym", *section_codes, "total", "status"])
    for view in views:
        for row in view["rows"]:
            writer.writerow(
                [
                    view["formation"]["code"],
                    row["rank"] or "",
                    row["pseudonym"],
                    *[_fmt(row["sections"].get(c)) for c in section_codes],
                    _fmt(row["total"]),
                    row["status"],
                ]
            )
    return out.getvalue()


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)
