"""IRT calibration of an exam's items from its finished attempts, stored and applied on request."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, NotFound
from app.models.calibration import Calibration, CalibrationItem
from app.models.exam import ExamVersion
from app.repositories import calibration as repo
from app.repositories import exams as exam_repo
from app.services import audit
from app.services.exams import published_exam
from app.services.item_analysis import load_answers
from app.services.runtime import load_runtime
from scoring.irt import CalibrationError, CalibrationSettings, IRTModel, calibrate
from scoring.rules import SectionScoringKind

MIN_CANDIDATES = 50


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True)
class CalibrationSummary:
    """A calibration as the API and CLI show it."""

    id: int
    model: str
    candidates: int
    items: int
    converged: bool
    iterations: int | None
    log_likelihood: float | None
    misfitting: int
    created_at: datetime
    applied_at: datetime | None
    settings: dict[str, Any]


@dataclass(frozen=True)
class ItemEstimate:
    """One item's estimates and fit in a calibration, as stored (``None``: undefined or fixed;
    ``index`` is the item's column in the response matrix)."""

    index: int
    a: float
    b: float
    c: float
    se_a: float | None
    se_b: float | None
    se_c: float | None
    n_responses: int
    p_value: float | None
    rmsd: float | None
    q1: float | None
    q1_df: int
    q1_p: float | None
    misfit: bool


@dataclass(frozen=True)
class CalibrationRun(CalibrationSummary):
    """A calibration just run: its summary and every item's estimates and fit, as stored."""

    item_estimates: tuple[ItemEstimate, ...]


def response_matrix(
    session: Session, exam_code: str
) -> tuple[ExamVersion, list[int], npt.NDArray[np.float64]]:
    """Scored 0/1 answers of every finished attempt to every dichotomous item it was shown.

    Returns the exam, the item version ids (matrix columns) and the matrix (candidates x
    items, NaN where an item was not on the candidate's form; a blank scores 0).
    """
    exam = published_exam(session, exam_code)
    runtime = load_runtime(session, exam.id)
    _ids, forms, responses = load_answers(session, runtime)
    dichotomous = [
        s.code for s in runtime.spec.sections if s.scoring.kind is not SectionScoringKind.WEIGHTED
    ]
    row_ids = sorted(runtime.row_of, key=lambda i: runtime.row_of[i])
    keys = np.array(
        [-2 if runtime.items[i].key_index is None else runtime.items[i].key_index for i in row_ids]
    )
    in_scope = np.array([runtime.items[i].section in dichotomous for i in row_ids])
    used = [int(r) for r in np.unique(forms) if r >= 0 and in_scope[r]] if forms.size else []
    column_of = np.full(len(row_ids), -1, dtype=np.int64)
    column_of[used] = np.arange(len(used))
    matrix = np.full((forms.shape[0], len(used)), np.nan)
    given = forms >= 0
    columns = np.where(given, column_of[np.where(given, forms, 0)], -1)
    shown = columns >= 0
    candidates = np.broadcast_to(np.arange(forms.shape[0])[:, None], forms.shape)
    correct = (responses == keys[np.where(given, forms, 0)]).astype(np.float64)
    matrix[candidates[shown], columns[shown]] = correct[shown]
    return exam, [row_ids[r] for r in used], matrix


def calibrate_exam(
    session: Session,
    exam_code: str,
    *,
    model: str = "2pl",
    apply: bool = False,
    actor: str,
    now: datetime,
) -> Calibration:
    """Calibrate the items of ``exam_code`` from its finished attempts and store the result.

    With ``apply`` the item versions' IRT parameters are set from it (content never changes;
    exams published later freeze the new parameters, those already published keep theirs).
    """
    try:
        settings = CalibrationSettings(model=IRTModel(model))
    except ValueError as exc:
        choices = ", ".join(m.value for m in IRTModel)
        msg = f"model must be one of {choices}"
        raise AppError(msg) from exc
    exam, item_ids, matrix = response_matrix(session, exam_code)
    if matrix.shape[0] < MIN_CANDIDATES:
        msg = f"{matrix.shape[0]} finished attempts; calibration needs at least {MIN_CANDIDATES}"
        raise Conflict(msg)
    try:
        result = calibrate(matrix, settings)
    except CalibrationError as exc:
        msg = f"the responses cannot be calibrated: {exc}"
        raise Conflict(msg) from exc
    record = repo.add(
        session,
        Calibration(
            exam_id=exam.id,
            model=str(settings.model),
            settings=settings.as_dict(),
            result=result.as_dict(),
            n_candidates=result.n_candidates,
            n_items=len(item_ids),
            converged=result.convergence.converged,
            created_at=now,
            created_by=actor,
            applied_at=now if apply else None,
        ),
        [
            CalibrationItem(
                item_id=item_id,
                a=estimate.a,
                b=estimate.b,
                c=estimate.c,
                se_a=_finite(estimate.se_a),
                se_b=_finite(estimate.se_b),
                se_c=_finite(estimate.se_c),
                rmsd=_finite(estimate.rmsd),
                n_responses=estimate.n_responses,
            )
            for item_id, estimate in zip(item_ids, result.items, strict=True)
        ],
    )
    if apply:
        for item_id, estimate in zip(item_ids, result.items, strict=True):
            repo.set_item_parameters(
                session, item_id, a=estimate.a, b=estimate.b, c=estimate.c, calibration_id=record.id
            )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="calibration.apply" if apply else "calibration.run",
        subject=f"exam:{exam.code}:v{exam.version}",
        payload={
            "calibration": record.id,
            "model": record.model,
            "candidates": record.n_candidates,
            "items": record.n_items,
            "converged": record.converged,
            "misfitting": len(result.misfitting),
        },
    )
    return record


def calibrations_of(session: Session, exam_code: str) -> list[Calibration]:
    """Every calibration run on any version of ``exam_code``, newest first."""
    ids = [e.id for e in exam_repo.versions(session, exam_code)]
    if not ids:
        msg = f"no exam with code {exam_code!r}"
        raise NotFound(msg)
    return repo.of_exams(session, ids)


def calibration_summary(record: Calibration) -> CalibrationSummary:
    """A calibration as the API and CLI show it."""
    items = record.result.get("items", [])
    convergence = record.result.get("convergence", {})
    return CalibrationSummary(
        id=record.id,
        model=record.model,
        candidates=record.n_candidates,
        items=record.n_items,
        converged=record.converged,
        iterations=convergence.get("iterations"),
        log_likelihood=convergence.get("log_likelihood"),
        misfitting=sum(1 for i in items if i.get("misfit")),
        created_at=record.created_at,
        applied_at=record.applied_at,
        settings=record.settings,
    )


def calibration_run(record: Calibration) -> CalibrationRun:
    """A calibration just run, with every item's stored estimates."""
    return CalibrationRun(
        **vars(calibration_summary(record)),
        item_estimates=tuple(ItemEstimate(**item) for item in record.result.get("items", [])),
    )


def summary(record: Calibration) -> dict[str, object]:
    """:func:`calibration_summary` as a plain mapping, for the command line's text output."""
    return dict(vars(calibration_summary(record)))
