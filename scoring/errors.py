"""Errors of the scoring package: one base class for everything ``scoring`` raises."""

from __future__ import annotations


class ScoringError(Exception):
    """Base of every error raised by ``scoring``."""


class InvalidResponse(ScoringError):
    """A response or form entry that no item can score; names the attempt row and position.

    ``attempt_row`` is the row in the arrays handed to the scorer (not a database id) and
    ``position`` the 0-based position in the form.
    """

    def __init__(self, message: str, *, attempt_row: int, position: int) -> None:
        super().__init__(message)
        self.attempt_row = attempt_row
        self.position = position


class UnknownCategory(ScoringError):
    """A candidate category for which the exam has no threshold rule set."""

    def __init__(self, category: str, known: tuple[str, ...]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(f"unknown candidate category {category!r} (the exam knows: {listed})")
        self.category = category
        self.known = known
