"""What a QTI item's response processing does, found by running it for every possible answer.

Authoring tools write the scoring of a single-choice item in many shapes: the standard
``match_correct`` / ``map_response`` templates, the Common Cartridge ``CC2_*`` templates copied
inline, ONYX's ``SCORE = sum(SCORE, MAXSCORE)``, conditions that only pick a feedback message
(often written with ``<multiple>``). Matching shapes misses most of them; what counts is what the
processing gives. A single-choice response has few values (no answer, or one of the choices),
so the processing is evaluated for each, with the item's outcome defaults, and the resulting
``SCORE``s decide: exactly one choice earning points is a keyed (``single``) item, points on
several choices a ``weighted`` one.

Only the expressions that such processing uses are evaluated; anything else met on the way
(``customOperator``, ``lookupOutcomeValue``, random numbers ...) stops the evaluation with the
construct named, so the item is refused rather than guessed. Assignments to other outcomes
(feedback) are evaluated lazily: one that cannot be computed only matters when a condition that
decides ``SCORE`` reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element

#: The outcome that holds an item's score.
SCORE = "SCORE"

Value = float | str | bool | tuple[object, ...] | None


class Unsupported(Exception):
    """The processing uses ``element``, which cannot be evaluated here."""

    def __init__(self, element: Element, reason: str) -> None:
        super().__init__(reason)
        self.element = element
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Unknown:
    """An outcome set by an expression that could not be evaluated (kept for its error)."""

    error: Unsupported


@dataclass(frozen=True, slots=True)
class Declarations:
    """What evaluation needs from the item's declarations.

    ``response`` is the response identifier; ``correct`` its correct value; ``mapping`` the
    mapped value of each choice, with ``default`` and the bounds; ``outcomes`` each outcome's
    starting value (its default, else 0 for numbers and NULL for the rest).
    """

    response: str
    correct: str | None
    mapping: Mapping[str, float] | None
    default: float
    lower: float | None
    upper: float | None
    outcomes: Mapping[str, Value]


class _Run:
    def __init__(self, declarations: Declarations, answer: str | None) -> None:
        self.d = declarations
        self.answer = answer
        self.outcomes: dict[str, Value | _Unknown] = dict(declarations.outcomes)
        self.done = False

    # Rules ------------------------------------------------------------------------------

    def rules(self, elements: list[Element]) -> None:
        for element in elements:
            if self.done:
                return
            self.rule(element)

    def rule(self, element: Element) -> None:
        tag = element.tag
        if tag == "setOutcomeValue":
            name = element.get("identifier") or ""
            if len(element) != 1:
                raise Unsupported(element, "setOutcomeValue needs one expression")
            try:
                self.outcomes[name] = self.value(element[0])
            except Unsupported as error:
                if name == SCORE:
                    raise
                self.outcomes[name] = _Unknown(error)
        elif tag == "responseCondition":
            self.condition(element)
        elif tag == "exitResponse":
            self.done = True
        elif tag == "responseProcessingFragment":
            self.rules(list(element))
        else:
            raise Unsupported(element, f"<{tag}> is not a rule that can be evaluated")

    def condition(self, element: Element) -> None:
        for branch in element:
            if branch.tag in {"responseIf", "responseElseIf"}:
                if not len(branch):
                    raise Unsupported(branch, f"<{branch.tag}> has no condition")
                if self.value(branch[0]) is True:
                    self.rules(list(branch)[1:])
                    return
            elif branch.tag == "responseElse":
                self.rules(list(branch))
                return
            else:
                raise Unsupported(branch, f"<{branch.tag}> is not part of a responseCondition")

    # Expressions ------------------------------------------------------------------------

    def value(self, element: Element) -> Value:
        handler = _EXPRESSIONS.get(element.tag)
        if handler is None:
            raise Unsupported(
                element,
                f"<{element.tag}> is not an expression the engine can evaluate (custom"
                " operators, random values and lookup tables leave the score unknown)",
            )
        return handler(self, element)

    def args(self, element: Element) -> list[Value]:
        return [self.value(child) for child in element]

    def variable(self, element: Element) -> Value:
        name = element.get("identifier") or ""
        if name == self.d.response:
            return self.answer
        if name in self.outcomes:
            found = self.outcomes[name]
            if isinstance(found, _Unknown):
                raise found.error
            return found
        raise Unsupported(element, f"variable {name!r} is not declared by the item")

    def correct(self, element: Element) -> Value:
        if (element.get("identifier") or "") != self.d.response:
            raise Unsupported(element, "<correct> names another response")
        return self.d.correct

    def map_response(self, element: Element) -> Value:
        if (element.get("identifier") or "") != self.d.response or self.d.mapping is None:
            raise Unsupported(element, "<mapResponse> without a mapping of this response")
        points = 0.0 if self.answer is None else self.d.mapping.get(self.answer, self.d.default)
        if self.d.lower is not None:
            points = max(points, self.d.lower)
        if self.d.upper is not None:
            points = min(points, self.d.upper)
        return points


def _base_value(run: _Run, element: Element) -> Value:
    text = (element.text or "").strip()
    kind = element.get("baseType") or ""
    if kind in {"float", "integer", "duration"}:
        try:
            return float(text)
        except ValueError:
            raise Unsupported(element, f"{text!r} is not a number") from None
    if kind == "boolean":
        return text == "true"
    return text


def _numbers(run: _Run, element: Element) -> list[float] | None:
    values = run.args(element)
    if any(v is None for v in values):
        return None
    numbers: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, float):
            raise Unsupported(element, f"<{element.tag}> of a value that is not a number")
        numbers.append(v)
    return numbers


def _sum(run: _Run, element: Element) -> Value:
    numbers = _numbers(run, element)
    return None if numbers is None else float(sum(numbers))


def _product(run: _Run, element: Element) -> Value:
    numbers = _numbers(run, element)
    if numbers is None:
        return None
    result = 1.0
    for n in numbers:
        result *= n
    return result


def _subtract(run: _Run, element: Element) -> Value:
    numbers = _numbers(run, element)
    if numbers is None or len(numbers) != 2:
        return None
    return numbers[0] - numbers[1]


def _compare(test: Callable[[float, float], bool]) -> Callable[[_Run, Element], Value]:
    def compare(run: _Run, element: Element) -> Value:
        numbers = _numbers(run, element)
        if numbers is None or len(numbers) != 2:
            return None
        return test(numbers[0], numbers[1])

    return compare


def _container(values: list[Value]) -> tuple[object, ...]:
    items: list[object] = []
    for v in values:
        if isinstance(v, tuple):
            items.extend(v)
        elif v is not None:
            items.append(v)
    return tuple(items)


def _multiple(run: _Run, element: Element) -> Value:
    return _container(run.args(element))


def _is_null(run: _Run, element: Element) -> Value:
    values = run.args(element)
    value = values[0] if values else None
    return value is None or value in ((), "")


def _match(run: _Run, element: Element) -> Value:
    values = run.args(element)
    if len(values) != 2 or any(v is None for v in values):
        return None
    a, b = values
    if isinstance(a, tuple) or isinstance(b, tuple):
        return sorted(map(str, _container([a]))) == sorted(map(str, _container([b])))
    return a == b


def _member(run: _Run, element: Element) -> Value:
    values = run.args(element)
    if len(values) != 2 or values[0] is None or values[1] is None:
        return None
    return values[0] in _container([values[1]])


def _contains(run: _Run, element: Element) -> Value:
    values = run.args(element)
    if len(values) != 2 or values[0] is None or values[1] is None:
        return None
    have = list(_container([values[0]]))
    for wanted in _container([values[1]]):
        if wanted not in have:
            return False
        have.remove(wanted)
    return True


def _logic(every: bool) -> Callable[[_Run, Element], Value]:
    def logic(run: _Run, element: Element) -> Value:
        values = run.args(element)
        if any(v is None for v in values):
            return None
        truths = [v is True for v in values]
        return all(truths) if every else any(truths)

    return logic


def _not(run: _Run, element: Element) -> Value:
    values = run.args(element)
    if len(values) != 1 or values[0] is None:
        return None
    return values[0] is not True


_EXPRESSIONS: dict[str, Callable[[_Run, Element], Value]] = {
    "baseValue": _base_value,
    "variable": lambda run, e: run.variable(e),
    "correct": lambda run, e: run.correct(e),
    "mapResponse": lambda run, e: run.map_response(e),
    "null": lambda run, e: None,
    "isNull": _is_null,
    "match": _match,
    "sum": _sum,
    "product": _product,
    "subtract": _subtract,
    "gt": _compare(lambda a, b: a > b),
    "gte": _compare(lambda a, b: a >= b),
    "lt": _compare(lambda a, b: a < b),
    "lte": _compare(lambda a, b: a <= b),
    "equal": _compare(lambda a, b: a == b),
    "multiple": _multiple,
    "ordered": _multiple,
    "member": _member,
    "contains": _contains,
    "and": _logic(True),
    "or": _logic(False),
    "not": _not,
}


def scores(
    processing: Element, declarations: Declarations, choices: list[str]
) -> tuple[float, dict[str, float]]:
    """The ``SCORE`` for no answer, and for each choice, as the processing computes it.

    Parameters
    ----------
    processing
        The ``responseProcessing`` element (names already in QTI 2 form).
    declarations
        What the item declares (response, correct value, mapping, outcome defaults).
    choices
        The choice identifiers.

    Returns
    -------
    tuple[float, dict[str, float]]
        The score without an answer, and by choice; a NULL ``SCORE`` counts as 0.

    Raises
    ------
    Unsupported
        At the first construct that cannot be evaluated, or when ``SCORE`` is not a number.
    """

    def run(answer: str | None) -> float:
        state = _Run(declarations, answer)
        state.rules(list(processing))
        score = state.outcomes.get(SCORE)
        if isinstance(score, _Unknown):
            raise score.error
        if score is None:
            return 0.0
        if isinstance(score, bool) or not isinstance(score, float):
            raise Unsupported(processing, f"{SCORE} is set to {score!r}, not a number")
        return score

    return run(None), {choice: run(choice) for choice in choices}
