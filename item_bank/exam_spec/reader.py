"""Typed reads of located nodes that collect every problem (with a line and a path) instead of
stopping at the first."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator

from item_bank.errors import InvalidInput, Problem
from item_bank.exam_spec.nodes import MapNode, Node, ScalarNode, SeqNode


def join_path(path: str, key: str) -> str:
    """The path of ``key`` under ``path``, as problems show it (``sections[1].scoring``)."""
    return f"{path}.{key}" if path else key


def describe(node: Node) -> str:
    """What a node is, in a problem's words ('a list', 'the number 3', ...)."""
    if isinstance(node, MapNode):
        return "a mapping"
    if isinstance(node, SeqNode):
        return "a list"
    value = node.value
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__} value"


class Reader:
    """Collects located problems while turning nodes into values."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._problems: list[tuple[int, int, Problem]] = []

    def problem(self, line: int | None, path: str, field: str, message: str) -> None:
        if line is not None and path:
            location = f"line {line} ({path})"
        elif line is not None:
            location = f"line {line}"
        else:
            location = path
        order = line if line is not None else 1 << 30
        self._problems.append(
            (order, len(self._problems), Problem(self.file, location, field, message))
        )

    @property
    def failed(self) -> bool:
        return bool(self._problems)

    def error(self) -> InvalidInput:
        return InvalidInput([p for _, _, p in sorted(self._problems, key=lambda t: t[:2])])

    # ---- structure -------------------------------------------------------------------------

    def mapping(
        self,
        node: Node,
        path: str,
        field: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...] = (),
    ) -> dict[str, Node] | None:
        """The known keys of a mapping; flags typos, duplicates and missing keys."""
        if not isinstance(node, MapNode):
            self.problem(node.line, path, field, f"must be a mapping, not {describe(node)}")
            return None
        seen: dict[str, Node] = {}
        for key, key_line, value in node.items:
            key_path = join_path(path, key)
            if key in seen:
                self.problem(key_line, key_path, key, f"`{key}` is given twice; keep one")
            elif key not in allowed:
                self.problem(key_line, key_path, key, unknown_key_message(key, allowed))
            else:
                seen[key] = value
        for key in required:
            if key not in seen:
                self.problem(node.line, path, key, f"`{key}` is required")
        return seen

    def entries(self, node: Node, path: str, field: str) -> Iterator[tuple[str, int | None, Node]]:
        """Key/value pairs of a free-keyed mapping (topics, strata, minima); flags duplicates."""
        if not isinstance(node, MapNode):
            self.problem(node.line, path, field, f"must be a mapping, not {describe(node)}")
            return
        seen: set[str] = set()
        for key, key_line, value in node.items:
            if key in seen:
                self.problem(
                    key_line, join_path(path, key), key, f"`{key}` is given twice; keep one"
                )
                continue
            seen.add(key)
            yield key, key_line, value

    def sequence(self, node: Node, path: str, field: str) -> list[Node]:
        if not isinstance(node, SeqNode):
            self.problem(node.line, path, field, f"must be a list, not {describe(node)}")
            return []
        return node.items

    # ---- scalars ---------------------------------------------------------------------------

    def text(self, node: Node | None, path: str, field: str) -> str | None:
        if node is None:
            return None
        if not isinstance(node, ScalarNode):
            self.problem(node.line, path, field, f"must be text, not {describe(node)}")
            return None
        value = node.value
        if not isinstance(value, str):
            message = f"must be text, not {describe(node)} (write it in quotes)"
            self.problem(node.line, path, field, message)
            return None
        if not value.strip():
            self.problem(node.line, path, field, "must not be empty")
            return None
        if value != value.strip():
            self.problem(node.line, path, field, "must not start or end with spaces")
            return None
        return value

    def code(
        self, node: Node | None, path: str, field: str, pattern: re.Pattern[str], shape: str
    ) -> str | None:
        value = self.text(node, path, field)
        if value is None or node is None:
            return None
        if not pattern.fullmatch(value):
            self.problem(node.line, path, field, f"{value!r} is not a valid code: {shape}")
            return None
        return value

    def integer(self, node: Node | None, path: str, field: str, minimum: int) -> int | None:
        if node is None:
            return None
        value = node.value if isinstance(node, ScalarNode) else None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            hint = " (write it without quotes)" if _looks_numeric(value) else ""
            message = f"must be a whole number, not {describe(node)}{hint}"
            self.problem(node.line, path, field, message)
            return None
        if value < minimum:
            self.problem(node.line, path, field, f"must be {minimum} or more, not {value}")
            return None
        return value

    def number(self, node: Node | None, path: str, field: str) -> float | None:
        if node is None:
            return None
        value = node.value if isinstance(node, ScalarNode) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            hint = " (write it without quotes)" if _looks_numeric(value) else ""
            self.problem(node.line, path, field, f"must be a number, not {describe(node)}{hint}")
            return None
        if not math.isfinite(value):
            self.problem(node.line, path, field, "must be a finite number")
            return None
        return float(value)

    def boolean(self, node: Node | None, path: str, field: str) -> bool | None:
        if node is None:
            return None
        value = node.value if isinstance(node, ScalarNode) else None
        if not isinstance(value, bool):
            self.problem(node.line, path, field, f"must be true or false, not {describe(node)}")
            return None
        return value

    def choice(
        self, node: Node | None, path: str, field: str, options: tuple[str, ...]
    ) -> str | None:
        value = self.text(node, path, field)
        if value is None or node is None:
            return None
        if value not in options:
            listed = ", ".join(options)
            self.problem(node.line, path, field, f"must be one of {listed}, not {value!r}")
            return None
        return value


def _looks_numeric(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def closest(word: str, options: tuple[str, ...] | list[str]) -> str | None:
    """The option ``word`` was probably meant to be: same letters ignoring case or order
    (``tkp``, ``TPK`` for ``TKP``), else the closest by :func:`difflib.get_close_matches`."""
    for option in options:
        if option.lower() == word.lower():
            return option
    for option in options:
        if sorted(option.lower()) == sorted(word.lower()):
            return option
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_key_message(key: str, allowed: tuple[str, ...]) -> str:
    """The problem for an unknown key, suggesting the allowed key it is closest to."""
    close = closest(key, allowed)
    if close:
        return f"unknown key `{key}` (did you mean `{close}`?)"
    return f"unknown key `{key}`; expected one of: {', '.join(allowed)}"
