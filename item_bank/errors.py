"""Errors of the item bank: one base class and located problems that name file, place and field."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in user input.

    ``location`` is what a person needs to find the spot: ``"row 12"``, ``"line 40"`` or an
    element path such as ``"assessmentItem/itemBody/choiceInteraction"``.
    """

    file: str
    location: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON shape used by the CLI's ``--json`` report and the API."""
        return {
            "file": self.file,
            "location": self.location,
            "field": self.field,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = f"{self.file}: {self.location}" if self.location else self.file
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.message}"


class ItemBankError(Exception):
    """Base of every error raised by ``item_bank``."""


class InvalidInput(ItemBankError):
    """User input (a bank file, an exam spec, a roster) has one or more located problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)


class BlueprintShortfall(ItemBankError):
    """The bank cannot serve an exam's blueprint; ``shortfalls`` names each gap."""

    def __init__(self, shortfalls: list[Shortfall]) -> None:
        self.shortfalls = list(shortfalls)
        super().__init__("; ".join(str(s) for s in self.shortfalls) or "blueprint shortfall")


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A blueprint cell the bank cannot fill: ``needed`` items, only ``available`` exist."""

    section: str
    topic: str | None
    stratum: str | None
    needed: int
    available: int

    def as_dict(self) -> dict[str, object]:
        """The JSON shape used by the API and CLI."""
        return {
            "section": self.section,
            "topic": self.topic,
            "stratum": self.stratum,
            "needed": self.needed,
            "available": self.available,
        }

    def __str__(self) -> str:
        cell = "/".join(p for p in (self.section, self.topic, self.stratum) if p)
        return f"{cell}: needs {self.needed}, bank has {self.available}"
