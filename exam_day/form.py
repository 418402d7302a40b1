"""The frozen form: which item sits at each position and in which order its options are shown.

Stored as JSON in ``attempts.form``, in the candidate's order, one entry per position:

* ``[item_id, [original option index shown as A, as B, ...]]`` — a fixed item;
* ``null`` — a position of an adaptive section whose item has not been given yet;
* ``[item_id, [option order...], "adaptive"]`` — an adaptive item that has been given.

:class:`FrozenForm` is the one reader and writer of that shape: ``FrozenForm.decode(stored)
.encode() == stored`` for every form written today, so a form read and written back serializes to
the same bytes. Display letters map onto original option indices through the entry's order
(``OPTION_LETTERS[k]`` shows original option ``order[k]``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from exam_day.errors import AdaptiveLocked, InvalidForm, NoSuchPosition, UnknownOption

#: The letters options are shown with, by display position.
OPTION_LETTERS = "ABCDEF"
#: The marker of a given adaptive entry in its stored JSON.
ADAPTIVE_MARK = "adaptive"


def letter_of(order: Sequence[int], original: int) -> str:
    """The letter the candidate saw for original option ``original`` under ``order``.

    Raises:
        ValueError: ``original`` is not in ``order`` (the stored answer does not fit the form).
    """
    return OPTION_LETTERS[list(order).index(original)]


def original_of(order: Sequence[int], letter: str, *, blank_allowed: bool = True) -> int:
    """The original option index behind the shown ``letter`` under ``order``.

    Args:
        order: The entry's option order.
        letter: What the candidate chose (``"A"``...).
        blank_allowed: Whether the refusal should say that null (clearing) is also accepted.

    Raises:
        UnknownOption: The letter is not one of the item's shown letters.
    """
    shown = OPTION_LETTERS.find(letter) if len(letter) == 1 else -1
    if shown < 0 or shown >= len(order):
        letters = ", ".join(OPTION_LETTERS[: len(order)])
        suffix = " or null" if blank_allowed else ""
        msg = f"option must be one of {letters}{suffix}"
        raise UnknownOption(msg)
    return order[shown]


@dataclass(frozen=True, slots=True)
class FormEntry:
    """The item at one position and the order its options are shown in.

    Attributes:
        item_id: The item version's id.
        option_order: ``option_order[k]`` is the original index of the option shown as letter k.
        adaptive: Whether the position belongs to an adaptive section (its answer is final).
    """

    item_id: int
    option_order: tuple[int, ...]
    adaptive: bool = False

    def encode(self) -> list[Any]:
        """The entry's stored JSON value."""
        if self.adaptive:
            return [self.item_id, list(self.option_order), ADAPTIVE_MARK]
        return [self.item_id, list(self.option_order)]

    def letter_of(self, original: int) -> str:
        """The shown letter of original option ``original`` (see :func:`letter_of`)."""
        return letter_of(self.option_order, original)

    def original_of(self, letter: str, *, blank_allowed: bool = True) -> int:
        """The original option behind the shown ``letter`` (see :func:`original_of`)."""
        return original_of(self.option_order, letter, blank_allowed=blank_allowed)


_INTS = frozenset({int})


def _integer(value: object, where: str) -> int:
    # bool is an int subclass; a stored true/false is damage, not an id.
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{where}: expected an integer, found {value!r}"
        raise InvalidForm(msg)
    return value


def _entry(value: object, position: int) -> FormEntry | None:
    if value is None:
        return None
    # The common shape is checked with exact type tests first (``type(x) is int`` also keeps
    # bools out): the answer path decodes every started attempt's form once per process, all
    # at the synchronized start. Anything else gets the checks that name what is wrong.
    if (
        type(value) is list
        and len(value) == 2
        and type(value[0]) is int
        and type(value[1]) is list
        and set(map(type, value[1])) <= _INTS
    ):
        return FormEntry(value[0], tuple(value[1]))
    where = f"form position {position}"
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        msg = f"{where}: expected [item_id, [option order]] or null, found {value!r}"
        raise InvalidForm(msg)
    item_id = _integer(value[0], f"{where} item id")
    raw_order = value[1]
    if not isinstance(raw_order, list | tuple):
        msg = f"{where}: the option order must be a list, found {raw_order!r}"
        raise InvalidForm(msg)
    order = tuple(_integer(o, f"{where} option order") for o in raw_order)
    if len(value) == 3 and value[2] != ADAPTIVE_MARK:
        msg = f"{where}: the third element must be {ADAPTIVE_MARK!r}, found {value[2]!r}"
        raise InvalidForm(msg)
    return FormEntry(item_id, order, adaptive=len(value) == 3)


@dataclass(frozen=True, slots=True)
class FrozenForm:
    """A candidate's frozen form: one entry per position (``None``: adaptive, not given yet).

    Positions are 1-based, as the candidate sees them.
    """

    entries: tuple[FormEntry | None, ...]

    @classmethod
    def decode(cls, value: object) -> FrozenForm:
        """Read a stored form (the JSON value of ``attempts.form``).

        Raises:
            InvalidForm: The value is not a list of entries of the stored shapes; the message
                names the position.
        """
        if not isinstance(value, list | tuple):
            msg = f"a form must be a list of entries, found {type(value).__name__}"
            raise InvalidForm(msg)
        return cls(tuple(_entry(v, p) for p, v in enumerate(value, start=1)))

    @classmethod
    def of(cls, entries: Sequence[tuple[int, Sequence[int]]]) -> FrozenForm:
        """A form of fixed items from ``(item_id, option_order)`` pairs (a fresh draw)."""
        return cls(tuple(FormEntry(int(i), tuple(int(o) for o in order)) for i, order in entries))

    def encode(self) -> list[Any]:
        """The stored JSON value (``decode(x).encode() == x`` for every stored form)."""
        return [None if entry is None else entry.encode() for entry in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[FormEntry | None]:
        return iter(self.entries)

    def item_ids(self) -> list[int]:
        """The item id at each position, 0 where an adaptive item has not been given yet."""
        return [0 if entry is None else entry.item_id for entry in self.entries]

    def given_item_ids(self) -> list[int]:
        """The ids of the items given so far, in position order."""
        return [entry.item_id for entry in self.entries if entry is not None]

    def at(self, position: int) -> FormEntry | None:
        """The entry at 1-based ``position`` (``None``: an adaptive item not given yet).

        Raises:
            NoSuchPosition: The position is outside ``1..len(form)``.
        """
        if not 1 <= position <= len(self.entries):
            msg = f"there is no item {position} (1-{len(self.entries)})"
            raise NoSuchPosition(msg)
        return self.entries[position - 1]

    def given(self, position: int) -> FormEntry:
        """The entry at ``position``, which must have been given.

        Raises:
            NoSuchPosition: The position is outside the form.
            AdaptiveLocked: The position is adaptive and its item has not been given yet.
        """
        entry = self.at(position)
        if entry is None:
            msg = f"item {position} has not been given yet: answer the current item first"
            raise AdaptiveLocked(msg)
        return entry

    def option_order(self, position: int) -> tuple[int, ...]:
        """The option order at ``position`` (see :meth:`given` for the refusals)."""
        return self.given(position).option_order

    def fixed_orders(self) -> tuple[tuple[int, ...], ...]:
        """Each position's option order, empty for adaptive positions (given or not).

        What the answer path keeps per attempt: an empty order sends the save to the adaptive
        path, the only place a form grows.
        """
        return tuple(
            () if entry is None or entry.adaptive else entry.option_order for entry in self.entries
        )

    def with_entry(self, position: int, entry: FormEntry | None) -> FrozenForm:
        """A copy with ``entry`` at ``position`` (an adaptive item being given).

        Raises:
            NoSuchPosition: The position is outside the form.
        """
        self.at(position)
        entries = list(self.entries)
        entries[position - 1] = entry
        return FrozenForm(tuple(entries))
