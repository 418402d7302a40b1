"""Body of the results verification route."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from app.services.verification import Verification


class ResultMismatchOut(BaseModel):
    """One attempt whose stored result is not what its answer history and form give."""

    attempt_id: int
    stored_total: float | None = Field(description="null: no result is stored")
    recomputed_total: float | None = Field(description="null: the record cannot be scored")
    stored_passed: bool | None
    recomputed_passed: bool | None
    stored_sections: dict[str, float] | None
    recomputed_sections: dict[str, float] | None
    reasons: list[str] = Field(description="what differs, e.g. 'TWK: stored 30, recomputed 25'")


class ResultsVerificationOut(BaseModel):
    """Every stored result of an exam version recomputed and compared."""

    exam: str
    exam_version: int
    scoring_revision: int = Field(description="the revision the results were recomputed under")
    checked: int = Field(description="finished attempts recomputed")
    ok: bool = Field(description="true when every stored result matched")
    mismatches: list[ResultMismatchOut]

    @classmethod
    def of(cls, report: Verification) -> ResultsVerificationOut:
        """The body of a verification."""
        return cls(
            exam=report.exam,
            exam_version=report.exam_version,
            scoring_revision=report.scoring_revision,
            checked=report.checked,
            ok=report.ok,
            mismatches=[
                ResultMismatchOut(
                    attempt_id=m.attempt_id,
                    stored_total=m.stored_total,
                    recomputed_total=m.recomputed_total,
                    stored_passed=m.stored_passed,
                    recomputed_passed=m.recomputed_passed,
                    stored_sections=m.stored_sections,
                    recomputed_sections=m.recomputed_sections,
                    reasons=list(m.reasons),
                )
                for m in report.mismatches
            ],
        )
