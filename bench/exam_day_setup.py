"""The exam of the exam-day rehearsal: an SKD-shaped exam with categories, formations and
accommodations, its sittings and roster, a proctor and a committee account, and every
candidate's scripted behaviour (arrival, ability, pace, when to reload, drop, move or finish).

The spec is kept here as plain values, so the rehearsal's check of the published ranking can
build its scoring rules from them rather than from the server's own parse of the spec.
"""

from __future__ import annotations

import io
import json
import math
import random
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from app import migrate
from app.clock import Clock
from app.db import connect
from app.models.staff import Role
from app.services import bank as bank_service
from app.services import exams, proctoring, staff
from bench.setup_exam import SECTIONS, bank_bytes, bench_settings
from scoring.ranking import Formation, TieBreakKey
from scoring.rules import SectionRule, SectionScoring, SectionScoringKind
from scoring.thresholds import Minimum, ThresholdRuleSet

#: SKD 2021-2024 minima by category (DOMAIN.md section 1); ``total`` is the sum of sections.
SKD_MINIMA: dict[str, dict[str, float]] = {
    "umum": {"TWK": 65, "TIU": 80, "TKP": 166},
    "cumlaude": {"total": 311, "TIU": 85},
    "disabilitas": {"total": 286, "TIU": 60},
    "papua": {"total": 286, "TIU": 60},
}
#: Share of candidates in each category (the rest are ``umum``).
CATEGORY_SHARES = {"cumlaude": 0.08, "disabilitas": 0.06, "papua": 0.06}
SECTION_NAMES = {
    "TWK": "Tes Wawasan Kebangsaan",
    "TIU": "Tes Intelegensia Umum",
    "TKP": "Tes Karakteristik Pribadi",
}
TIE_BREAKS = ("TKP", "TIU", "TWK")
#: One dichotomous point value (SKD: 5 for a correct TWK or TIU item), the TKP maximum per item.
CORRECT_POINTS = 5
MAX_OPTION_POINTS = 5
#: Upper bound of SKD's real pace: 100 minutes for 110 items and the answer changes.
REAL_MINUTES = 100


@dataclass(frozen=True)
class ExamPlan:
    """The rehearsal's exam as values: what the YAML says, and what a recount needs."""

    code: str
    duration_minutes: int
    minima: dict[str, dict[str, float]]
    formations: tuple[tuple[str, int], ...]

    def yaml(self) -> str:
        """The spec as the committee would upload it."""
        lines = [
            f"code: {self.code}",
            "title: Gladi Bersih SKD",
            f"duration_minutes: {self.duration_minutes}",
            "shuffle_items: true",
            "shuffle_options: true",
            "show_result: true",
            "sections:",
        ]
        for section, count, kind in SECTIONS:
            scoring = (
                f"{{kind: dichotomous, correct: {CORRECT_POINTS}, wrong: 0, blank: 0}}"
                if kind == "single"
                else f"{{kind: weighted, max_option_points: {MAX_OPTION_POINTS}, blank: 0}}"
            )
            lines.append(
                f"  - {{code: {section}, name: {SECTION_NAMES[section]}, "
                f"item_count: {count}, scoring: {scoring}}}"
            )
        lines.append("categories:")
        for category, minima in self.minima.items():
            body = ", ".join(f"{k}: {v:g}" for k, v in minima.items())
            lines.append(f"  - {{code: {category}, minima: {{{body}}}}}")
        lines.append(f"tie_breaks: [{', '.join(TIE_BREAKS)}]")
        lines.append("final_tie_breaks:")
        lines.append("  - {field: grade_average, order: descending}")
        lines.append("  - {field: birth_date, order: ascending}")
        lines.append("formations:")
        for code, openings in self.formations:
            lines.append(
                f"  - {{code: {code}, agency: Instansi Gladi, position: Analis {code[-2:]}, "
                f"openings: {openings}}}"
            )
        return "\n".join(lines) + "\n"

    # What the recount builds on: the same rules, from these values, not from the server.
    def section_rules(self) -> tuple[SectionRule, ...]:
        """The sections in form order with their scoring."""
        return tuple(
            SectionRule(
                section,
                SECTION_NAMES[section],
                count,
                SectionScoring(SectionScoringKind.DICHOTOMOUS, float(CORRECT_POINTS))
                if kind == "single"
                else SectionScoring(SectionScoringKind.WEIGHTED),
            )
            for section, count, kind in SECTIONS
        )

    def rule_sets(self) -> tuple[ThresholdRuleSet, ...]:
        """One threshold rule set per category."""
        return tuple(
            ThresholdRuleSet(
                category,
                tuple(
                    Minimum(() if name == "total" else (name,), float(value))
                    for name, value in minima.items()
                ),
            )
            for category, minima in self.minima.items()
        )

    def scoring_formations(self) -> tuple[Formation, ...]:
        """The formations with their openings (cut 3 x openings)."""
        return tuple(
            Formation(code, "Instansi Gladi", f"Analis {code[-2:]}", openings)
            for code, openings in self.formations
        )

    def tie_breaks(self) -> tuple[TieBreakKey, ...]:
        """TKP, TIU, TWK, then the higher grade average, then the older candidate."""
        return (
            *(TieBreakKey((code,)) for code in TIE_BREAKS),
            TieBreakKey.by_column("grade_average", descending=True),
            TieBreakKey.by_column("birth_date", descending=False),
        )


@dataclass(frozen=True)
class CandidatePlan:
    """One candidate's registration and scripted behaviour (times are seconds after T0)."""

    index: int
    nomor: str
    pin: str
    sitting: int
    category: str
    formation: str
    extra_minutes: int
    grade_average: float
    birth_date: date
    absent: bool
    arrive: float
    ability: float
    pace: float
    section_order: tuple[str, ...]
    jumps: bool
    finish_fraction: float | None
    move_at: float | None
    seed: int


@dataclass
class Prepared:
    """Everything the rehearsal needs after setup."""

    url: str
    secret: str
    exam: ExamPlan
    sitting_ids: list[int]
    candidates: list[CandidatePlan]
    bank: dict[str, dict[str, Any]]
    committee: tuple[str, str]
    proctor: tuple[str, str]
    paused_sitting: int
    notes: dict[str, object] = field(default_factory=dict)


def coverage(duration_s: float, think_mean: float, window: float) -> float:
    """The share of a form an average candidate answers at this pace: a first answer is about
    four in five saves (the rest change, clear or flag an earlier answer)."""
    saves = max(0.0, duration_s - window / 2) / think_mean
    return min(1.0, 0.8 * saves / sum(count for _s, count, _k in SECTIONS))


#: Thresholds are scaled below the expected coverage: candidates slowed by the start rush
#: or the pause answer less than the estimate, and the ranking needs passes to order.
THRESHOLD_MARGIN = 0.7


def scaled_minima(share: float) -> dict[str, dict[str, float]]:
    """SKD minima scaled to the share of items a time-compressed candidate can answer, so the
    ranking holds all four statuses (P/L, P, T/L, TH) rather than only T/L."""
    factor = share * THRESHOLD_MARGIN
    return {
        category: {name: float(max(1, round(value * factor))) for name, value in minima.items()}
        for category, minima in SKD_MINIMA.items()
    }


def bank_items(multiplier: int) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """The bank file and its items by code (the key or option points, and the p-value)."""
    raw = bank_bytes(multiplier)
    items = {item["code"]: item for item in json.loads(raw)["items"]}
    return raw, items


def candidate_plans(
    exam: ExamPlan,
    pins: list[tuple[str, str, int]],
    *,
    window: float,
    seed: int,
    absent_share: float,
    finish_share: float,
    move_share: float,
    roster: dict[str, tuple[str, str, int, float, date]],
) -> list[CandidatePlan]:
    """Script each candidate from one seeded generator."""
    rng = random.Random(seed)
    duration = exam.duration_minutes * 60
    # At least one candidate stays away, so every ranking status (TH too) can appear.
    absent = set(rng.sample(range(len(pins)), max(1, round(absent_share * len(pins)))))
    plans = []
    sections = tuple(code for code, _n, _k in SECTIONS)
    for index, (nomor, pin, sitting) in enumerate(pins):
        category, formation, extra, grade, born = roster[nomor]
        order = list(sections)
        # Some start with TKP or TIU; half answer what they know first, jumping on the grid.
        if rng.random() < 0.3:
            rng.shuffle(order)
        # A PC that dies (during the proctor's pause too): the candidate logs in on another.
        move_at = window + rng.uniform(0.1, 0.8) * duration if rng.random() < move_share else None
        plans.append(
            CandidatePlan(
                index=index,
                nomor=nomor,
                pin=pin,
                sitting=sitting,
                category=category,
                formation=formation,
                extra_minutes=extra,
                grade_average=grade,
                birth_date=born,
                absent=index in absent,
                arrive=rng.uniform(0, window),
                ability=rng.uniform(0.25, 0.95),
                pace=rng.lognormvariate(0, 0.25),
                section_order=tuple(order),
                jumps=rng.random() < 0.5,
                finish_fraction=rng.uniform(0.55, 0.95) if rng.random() < finish_share else None,
                move_at=move_at,
                seed=rng.getrandbits(32),
            )
        )
    return plans


def prepare(
    url: str,
    var_dir: Path,
    *,
    candidates: int,
    sittings: int,
    duration_minutes: int,
    think_mean: float,
    window: float,
    seed: int,
    multiplier: int = 3,
    absent_share: float = 0.02,
    finish_share: float = 0.35,
    move_share: float = 0.02,
    secret: str | None = None,
    extra_minutes: int = 1,
) -> Prepared:
    """Migrate ``url`` and load the rehearsal's bank, exam, sittings, roster and staff."""
    secret = secret or secrets.token_urlsafe(40)
    settings = bench_settings(url, secret, var_dir, sqlite_synchronous="FULL")
    db = connect(settings)
    migrate.upgrade(db.engine)
    clock = Clock()
    now = clock.now()
    rng = random.Random(seed ^ 0x5EED)
    code = f"GLADI{secrets.token_hex(3).upper()}"
    n_formations = max(2, min(12, candidates // 200))
    formations = tuple(
        (f"{code}-F{k + 1:02d}", rng.randint(1, max(1, candidates // (n_formations * 25))))
        for k in range(n_formations)
    )
    share = coverage(duration_minutes * 60, think_mean, window)
    exam = ExamPlan(code, duration_minutes, scaled_minima(share), formations)
    raw_bank, bank = bank_items(multiplier)

    roster_rows: dict[str, tuple[str, str, int, float, date]] = {}
    for i in range(candidates):
        draw = rng.random()
        category = "umum"
        for name, cut in CATEGORY_SHARES.items():
            if draw < cut:
                category = name
                break
            draw -= cut
        # Blind candidates get 130 minutes for 100: here one extra minute of a short exam.
        extra = extra_minutes if category == "disabilitas" else 0
        born = date(1990, 1, 1) + timedelta(days=rng.randint(0, 12 * 365))
        roster_rows[f"{code}{i:06d}"] = (
            category,
            formations[rng.randrange(len(formations))][0],
            extra,
            round(rng.uniform(2.75, 4.0), 2),
            born,
        )

    per_sitting = math.ceil(candidates / sittings)
    numbers = list(roster_rows)
    committee = (f"panitia{secrets.token_hex(2)}", secrets.token_urlsafe(16))
    proctor = (f"pengawas{secrets.token_hex(2)}", secrets.token_urlsafe(16))
    pins: list[tuple[str, str, int]] = []
    sitting_ids: list[int] = []
    with db.session() as session:
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("gladi.json", io.BytesIO(raw_bank))],
            actor="bench",
            now=now,
        )
        assert report.ok, report.errors[:3]
        exams.define_exam(session, exam.yaml(), "gladi.yaml", actor="bench", now=now)
        exams.publish_exam(session, code, actor="bench", now=now)
        for role, (username, password) in (
            (Role.COMMITTEE, committee),
            (Role.PROCTOR, proctor),
        ):
            staff.create_user(
                session, username=username, password=password, role=role, now=now, actor="bench"
            )
        for k in range(sittings):
            chunk = numbers[k * per_sitting : (k + 1) * per_sitting]
            if not chunk:
                break
            sitting = exams.create_sitting(
                session,
                exam_code=code,
                name=f"Sesi {k + 1}",
                starts_at=now,
                actor="bench",
                now=now,
            )
            roster = "nomor_peserta,name,category,formation,extra_minutes,ipk,tanggal_lahir\n"
            roster += "".join(
                f"{n},Peserta {n[-6:]},{c},{f},{e},{g:.2f},{b.isoformat()}\n"
                for n in chunk
                for c, f, e, g, b in (roster_rows[n],)
            )
            issued = exams.import_roster(
                session,
                sitting.id,
                roster.encode(),
                f"roster-{k + 1}.csv",
                secret=secret.encode(),
                actor="bench",
                now=now,
            )
            proctoring.open_sitting(session, sitting.id, now=now, actor="bench")
            pins += [(p.nomor_peserta, p.pin, sitting.id) for p in issued]
            sitting_ids.append(sitting.id)
        # One proctor for every sitting: the pause is in the first, and a move to another PC in
        # any sitting waits for the proctor's approval.
        for sitting_id in sitting_ids:
            exams.assign_proctor(session, sitting_id, proctor[0], actor="bench", now=now)
    db.dispose()
    plans = candidate_plans(
        exam,
        pins,
        window=window,
        seed=seed,
        absent_share=absent_share,
        finish_share=finish_share,
        move_share=move_share,
        roster=roster_rows,
    )
    return Prepared(
        url=url,
        secret=secret,
        exam=exam,
        sitting_ids=sitting_ids,
        candidates=plans,
        bank=bank,
        committee=committee,
        proctor=proctor,
        paused_sitting=sitting_ids[0],
        notes={"coverage": share},
    )
