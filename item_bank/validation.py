"""Turn one item, as any bank format states it, into a sanitized `Item`, or name all its problems.

Every reader (JSON, CSV, XLSX, QTI) fills a `RawItem` with the values it found, untyped and
unchecked, and calls `build_item`. The checks live here once, so a rule holds the same way in
every format, and every problem of an item is reported, not only the first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from item_bank.errors import Problem
from item_bank.models import (
    MAX_OPTIONS,
    MIN_OPTIONS,
    OPTION_LABELS,
    DifficultyLevel,
    IRTParams,
    Item,
    ItemStatus,
    Media,
    Option,
    ScoringKind,
    Stimulus,
)
from item_bank.sanitize import (
    image_sources,
    is_blank,
    is_safe_media_name,
    removals,
    remove_images,
)
from item_bank.sanitize import sanitize_html as _sanitize

#: Item codes: stable identities that appear in URLs, file names and reports.
CODE_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Section codes (TWK, TIU, TKP, TEKNIS ...).
SECTION_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_TOPIC_LENGTH = 100
#: A stem or option longer than this is a pasted document, not a test question.
MAX_TEXT_LENGTH = 65_536

#: Words accepted for each difficulty level; Indonesian authors write mudah / sedang / sulit.
LEVEL_WORDS: Mapping[str, DifficultyLevel] = MappingProxyType(
    {
        "easy": DifficultyLevel.EASY,
        "mudah": DifficultyLevel.EASY,
        "medium": DifficultyLevel.MEDIUM,
        "sedang": DifficultyLevel.MEDIUM,
        "hard": DifficultyLevel.HARD,
        "sulit": DifficultyLevel.HARD,
        "sukar": DifficultyLevel.HARD,
    }
)

MISSING_MEDIA_MESSAGE = "referenced image missing from the package"

#: Looks a media name up: the file as `Media`, ``None`` when absent, or a message saying why the
#: file present under that name cannot be used (not an image, unsafe SVG, too large ...).
MediaResolver = Callable[[str], Media | str | None]

# Lone UTF-16 surrogates (a JSON "\ud800" escape) cannot be stored or shown.
_SURROGATE = re.compile("[\ud800-\udfff]")
_KEY_SEPARATORS = re.compile(r"[\s,;/|+&]+")
_MEDIA_SEPARATORS = re.compile(r"[\s,;|]+")


@dataclass(frozen=True, slots=True)
class Rules:
    """What the caller decides about an upload, and how lenient a format's cells are read.

    Parameters
    ----------
    points_range
        Inclusive bounds of a weighted option's points.
    known_sections
        Section codes the bank knows; ``None`` accepts any well-formed code.
    decimal_comma
        Read ``"0,62"`` as 0.62 (semicolon CSV files from Indonesian-locale spreadsheets).
    numbers_as_text
        Accept a number where text is expected (a spreadsheet types an option "25" as 25).
    allow_missing_media
        Remove images whose file is missing instead of refusing the item.
    accept_stimuli
        Read shared passages (`Stimulus`) with the items that refer to them. Off, an item with a
        passage is refused, since a caller that does not store and show passages would present
        the question without the text it is about.
    """

    points_range: tuple[float, float] = (0.0, 5.0)
    known_sections: frozenset[str] | None = None
    decimal_comma: bool = False
    numbers_as_text: bool = False
    allow_missing_media: bool = False
    accept_stimuli: bool = False


@dataclass(slots=True)
class RawOption:
    """One option as the file states it, with the field names to use when reporting on it.

    ``location`` overrides the item's location (a QTI ``simpleChoice`` element path).
    """

    label: object
    text: object
    points: object = None
    label_field: str = "label"
    text_field: str = "text"
    points_field: str = "points"
    location: str | None = None
    fixed: object = None
    fixed_field: str = "fixed"


@dataclass(slots=True)
class RawStimulus:
    """A passage as the file states it: its code and HTML content, not yet checked.

    ``resolve_media`` finds its images when they are named relative to another folder than the
    item's (a QTI stimulus file elsewhere in the package).
    """

    code: object
    content: object
    location: str
    title: object = None
    code_field: str = "stimulus.code"
    content_field: str = "stimulus.content"
    media_locations: dict[str, str] = field(default_factory=dict)
    resolve_media: MediaResolver | None = None


@dataclass(slots=True)
class RawItem:
    """One item as the file states it: values not yet checked, typed as the format gives them.

    ``fields`` renames a canonical field in reports (QTI reports ``code`` as ``identifier``);
    ``locations`` gives a field its own location, ``media_locations`` one per media name;
    ``missing`` replaces the message for an absent required field (saying where it may go).
    ``media`` is a list of names or one string of names separated by spaces, commas,
    semicolons or ``|``; images referenced in the stem or options are added to it.
    ``shuffle`` is a yes/no value (blank: yes); options are fixed by their own ``fixed`` value
    or by naming their labels in the item's ``fixed`` (a spreadsheet's one ``fixed`` column).
    """

    location: str
    code: object = None
    section: object = None
    topic: object = None
    stem: object = None
    scoring: object = None
    key: object = None
    options: list[RawOption] = field(default_factory=list)
    p_value: object = None
    level: object = None
    irt_a: object = None
    irt_b: object = None
    irt_c: object = None
    status: object = None
    media: object = None
    source: object = None
    shuffle: object = None
    fixed: object = None
    stimulus: RawStimulus | None = None
    explanation: object = None
    fields: dict[str, str] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    media_locations: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


class _Report:
    """Collects the problems of one item with its file and default location filled in."""

    __slots__ = ("file", "problems", "raw")

    def __init__(self, file: str, raw: RawItem) -> None:
        self.file = file
        self.raw = raw
        self.problems: list[Problem] = []

    def add(self, name: str, message: str, *, location: str | None = None) -> None:
        raw = self.raw
        where = location or raw.locations.get(name) or raw.location
        self.problems.append(Problem(self.file, where, raw.fields.get(name, name), message))


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_number(value: object, *, decimal_comma: bool = False) -> float | None:
    """Read a number from a cell or a JSON value.

    Parameters
    ----------
    value
        An ``int``/``float``, a string, or ``None``/``""`` for absent.
    decimal_comma
        Also accept ``"0,62"`` (a comma as the decimal separator).

    Returns
    -------
    float | None
        The finite number, or ``None`` when absent.

    Raises
    ------
    ValueError
        With a plain message (``expected a number, got 'abc'``) for anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {_describe(value)}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if decimal_comma and "," in text and "." not in text:
            text = text.replace(",", ".", 1)
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {_describe(value)}") from None
    else:
        raise ValueError(f"expected a number, got {_describe(value)}")
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {_describe(value)}")
    return number


def _text(report: _Report, name: str, value: object, rules: Rules) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value.isascii() and _SURROGATE.search(value):
            report.add(name, "contains an invalid character (a lone UTF-16 surrogate)")
            return None
        return value.strip() or None
    if rules.numbers_as_text and isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    report.add(name, f"expected text, got {_describe(value)}")
    return None


def _required_text(
    report: _Report, name: str, value: object, rules: Rules, missing: str
) -> str | None:
    text = _text(report, name, value, rules)
    if text is None and not _present(value):
        report.add(name, report.raw.missing.get(name, missing))
    return text


def _number(report: _Report, name: str, value: object, rules: Rules) -> float | None:
    try:
        return parse_number(value, decimal_comma=rules.decimal_comma)
    except ValueError as error:
        report.add(name, str(error))
        return None


def _html(report: _Report, name: str, value: str, *, location: str | None = None) -> str:
    if len(value) > MAX_TEXT_LENGTH:
        report.add(name, f"longer than {MAX_TEXT_LENGTH} characters", location=location)
    # Refuse, never strip: an item that would lose something a candidate sees (or code its
    # author meant to run) is named, not imported without it. Presentation may go silently.
    for removal in removals(value):
        if removal.lossy:
            report.add(
                name,
                f"{REFUSED_CONTENT}: {removal.what} at {removal.path} {removal.why}",
                location=location,
            )
    return _sanitize(value)


#: How a refusal of content the engine cannot represent begins (see `item_bank.sanitize`).
REFUSED_CONTENT = "refused, not stripped"

_YES = frozenset({"true", "yes", "y", "ya", "1", "x"})
_NO = frozenset({"false", "no", "n", "tidak", "0"})


def parse_flag(value: object) -> bool | None:
    """Read a yes/no value: ``True``/``False``, 1/0, or the words true/false, yes/no, ya/tidak.

    Returns ``None`` when absent (``None`` or blank) and raises ``ValueError`` with a plain
    message for anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if not word:
            return None
        if word in _YES:
            return True
        if word in _NO:
            return False
    raise ValueError(f"expected yes or no (true/false), got {_describe(value)}")


def _flag(report: _Report, name: str, value: object, *, location: str | None = None) -> bool | None:
    try:
        return parse_flag(value)
    except ValueError as error:
        report.add(name, str(error), location=location)
        return None


def _order(report: _Report, raw: RawItem, options: list[Option]) -> tuple[bool, list[Option]]:
    """The item's shuffle flag and its options with their fixed positions, in one form.

    Without shuffling every option keeps its place, so ``fixed`` is cleared; when every option
    is fixed nothing moves either, which is the same item as one that is not shuffled.
    """
    shuffle = _flag(report, "shuffle", raw.shuffle)
    fixed = [bool(_flag(report, o.fixed_field, o.fixed, location=o.location)) for o in raw.options]
    listed = _text(report, "fixed", raw.fixed, Rules(numbers_as_text=True))
    if listed is not None:
        labels = [o.label for o in options]
        for part in _KEY_SEPARATORS.split(listed.upper()):
            if not part:
                continue
            if part in labels:
                fixed[labels.index(part)] = True
            else:
                shown = ", ".join(label for label in labels if label) or "none"
                report.add("fixed", f"{part!r} names no option (options: {shown})")
    keep_order = shuffle is False or (bool(fixed) and all(fixed))
    return not keep_order, [
        replace(o, fixed=flag and not keep_order) for o, flag in zip(options, fixed, strict=True)
    ]


def _fmt(number: float) -> str:
    return f"{number:g}"


def build_item(
    raw: RawItem,
    *,
    file: str,
    rules: Rules,
    resolve_media: MediaResolver | None = None,
) -> Item | list[Problem]:
    """Check and sanitize one item.

    Parameters
    ----------
    raw
        The item as read from the file.
    file
        The file name for problem reports.
    rules
        Points range, known sections and how lenient cells are read.
    resolve_media
        Finds the files the item's images name; ``None`` when the upload carries no media
        (every referenced image is then missing).

    Returns
    -------
    Item | list[Problem]
        The item (``version`` 1, text sanitized), or every problem found in it.
    """
    report = _Report(file, raw)

    code = _required_text(report, "code", raw.code, rules, "missing")
    if code is not None:
        _check_code(report, code, "code")

    section = _required_text(report, "section", raw.section, rules, "missing")
    if section is not None:
        _check_section(report, section, rules)

    topic = _required_text(report, "topic", raw.topic, rules, "missing")
    if topic is not None and len(topic) > MAX_TOPIC_LENGTH:
        report.add("topic", f"longer than {MAX_TOPIC_LENGTH} characters")

    stem_text = _required_text(report, "stem", raw.stem, rules, "empty stem")
    stem = "" if stem_text is None else _html(report, "stem", stem_text)

    options, labels = _options(report, raw, rules)
    scoring = _scoring(report, raw, rules)
    key = _key(report, raw, rules, scoring, labels)
    options = _points(report, raw, rules, scoring, options)
    shuffle, options = _order(report, raw, options)

    p_value = _number(report, "p_value", raw.p_value, rules)
    if p_value is not None and not 0.0 <= p_value <= 1.0:
        report.add("p_value", f"{_fmt(p_value)} is out of range: a p-value lies between 0 and 1")

    level: DifficultyLevel | None = None
    level_text = _text(report, "level", raw.level, rules)
    if level_text is not None:
        level = LEVEL_WORDS.get(level_text.lower())
        if level is None:
            report.add("level", f"{_describe(level_text)} is not a level: use easy, medium or hard")

    irt = _irt(report, raw, rules)

    status = ItemStatus.ACTIVE
    status_text = _text(report, "status", raw.status, rules)
    if status_text is not None:
        try:
            status = ItemStatus(status_text.lower())
        except ValueError:
            report.add(
                "status", f"{_describe(status_text)} is not a status: use draft, active or retired"
            )

    source = _source(report, raw.source)

    # The pembahasan: optional, sanitized like the stem (it is shown to practice candidates).
    explanation: str | None = None
    explanation_text = _text(report, "explanation", raw.explanation, rules)
    if explanation_text is not None:
        explanation = _html(report, "explanation", explanation_text)
        explanation = None if is_blank(explanation) else explanation
        if explanation is not None and "<img" in explanation:
            # Images are carried only by a stem and its options (their media are resolved and
            # stored with the item); an explanation's picture would point at nothing.
            report.add("explanation", "images are not supported in an explanation: use text")

    stem, options, media = _media(report, raw, rules, resolve_media, stem=stem, options=options)
    if stem_text is not None and is_blank(stem):
        report.add("stem", "empty stem (nothing is left to show after removing unsafe HTML)")

    if report.problems:
        return report.problems
    assert code is not None
    assert section is not None
    assert topic is not None
    assert scoring is not None
    return Item(
        code=code,
        section=section,
        topic=topic,
        stem=stem,
        options=tuple(options),
        scoring=scoring,
        key=key,
        status=status,
        p_value=p_value,
        level=level,
        irt=irt,
        media=media,
        source=source,
        shuffle=shuffle,
        stimulus_ref=_stimulus_ref(raw),
        explanation=explanation,
    )


def _stimulus_ref(raw: RawItem) -> str | None:
    # The code itself is judged with the passage (build_stimulus); a bad one refuses both.
    code = raw.stimulus.code if raw.stimulus is not None else None
    return code.strip() if isinstance(code, str) and code.strip() else None


def build_stimulus(
    raw: RawStimulus,
    *,
    file: str,
    rules: Rules,
    resolve_media: MediaResolver | None = None,
) -> Stimulus | list[Problem]:
    """Check and sanitize one passage, as `build_item` does an item's stem.

    Parameters
    ----------
    raw
        The passage as read from the file.
    file
        The file name for problem reports.
    rules
        The upload's rules; without ``accept_stimuli`` every passage is refused.
    resolve_media
        Finds its images (``raw.resolve_media`` takes precedence).

    Returns
    -------
    Stimulus | list[Problem]
        The passage, or every problem found in it (located at ``raw.location``).
    """
    shell = RawItem(
        location=raw.location,
        media_locations=raw.media_locations,
        fields={"code": raw.code_field, "stem": raw.content_field, "media": raw.content_field},
        missing={"stem": "empty passage"},
    )
    report = _Report(file, shell)
    if not rules.accept_stimuli:
        report.add("stem", f"{REFUSED_CONTENT}: {STIMULUS_NOT_ACCEPTED}")
        return report.problems
    code = _required_text(report, "code", raw.code, rules, "missing passage code")
    if code is not None:
        _check_code(report, code, "passage code")
    text = _required_text(report, "stem", raw.content, rules, "empty passage")
    content = "" if text is None else _html(report, "stem", text)
    title = _text(report, "title", raw.title, rules) or ""
    content, _, media = _media(
        report, shell, rules, raw.resolve_media or resolve_media, stem=content, options=[]
    )
    if text is not None and is_blank(content):
        report.add("stem", "empty passage (nothing is left to show after removing unsafe HTML)")
    if report.problems:
        return report.problems
    assert code is not None
    return Stimulus(code=code, content=content, media=media, title=title)


#: Why a passage is refused when the import does not accept them (see `Rules.accept_stimuli`).
STIMULUS_NOT_ACCEPTED = (
    "shared passages (stimuli) are not accepted by this import: the item would be shown"
    " without the text its question is about"
)


def _check_code(report: _Report, code: str, noun: str) -> None:
    if not CODE_PATTERN.fullmatch(code):
        report.add(
            "code",
            f"{_describe(code)} is not a valid {noun}: use 1-64 letters, digits, '.', '_' or '-'",
        )


def _check_section(report: _Report, section: str, rules: Rules) -> None:
    if not SECTION_PATTERN.fullmatch(section):
        report.add(
            "section",
            f"{_describe(section)} is not a valid section code: use letters, digits, '_' or '-'",
        )
    elif rules.known_sections is not None and section not in rules.known_sections:
        known = ", ".join(sorted(rules.known_sections)) or "none"
        report.add("section", f"unknown section {section!r} (known sections: {known})")


def _options(report: _Report, raw: RawItem, rules: Rules) -> tuple[list[Option], list[str]]:
    options: list[Option] = []
    labels: list[str] = []
    seen: set[str] = set()
    for raw_option in raw.options:
        where = raw_option.location
        label_text = _text(report, raw_option.label_field, raw_option.label, rules)
        label = ""
        if label_text is None:
            if not _present(raw_option.label):
                report.add(raw_option.label_field, "missing option label", location=where)
        else:
            label = label_text.upper()
            if label not in OPTION_LABELS:
                report.add(
                    raw_option.label_field,
                    f"{_describe(label_text)} is not an option label: use A to F",
                    location=where,
                )
            elif label in seen:
                report.add(
                    raw_option.label_field, f"duplicate option label {label!r}", location=where
                )
            seen.add(label)
        text_value = _text(report, raw_option.text_field, raw_option.text, rules)
        text = ""
        if text_value is None:
            if not _present(raw_option.text):
                report.add(raw_option.text_field, f"option {label or '?'} is empty", location=where)
        else:
            text = _html(report, raw_option.text_field, text_value, location=where)
            if is_blank(text):
                report.add(
                    raw_option.text_field,
                    f"option {label or '?'} is empty after removing unsafe HTML",
                    location=where,
                )
        labels.append(label)
        options.append(Option(label=label, text=text))
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        report.add(
            "options",
            f"has {len(options)} option(s); an item needs {MIN_OPTIONS} to {MAX_OPTIONS}",
        )
    return options, labels


def _scoring(report: _Report, raw: RawItem, rules: Rules) -> ScoringKind | None:
    scoring_text = _text(report, "scoring", raw.scoring, rules)
    if scoring_text is not None:
        try:
            return ScoringKind(scoring_text.lower())
        except ValueError:
            report.add(
                "scoring", f"{_describe(scoring_text)} is not a scoring: use single or weighted"
            )
            return None
    # A blank scoring cell is inferred when the rest of the row leaves no doubt.
    has_points = any(_present(o.points) for o in raw.options)
    has_key = _present(raw.key)
    if has_points and not has_key:
        return ScoringKind.WEIGHTED
    if has_key and not has_points:
        return ScoringKind.SINGLE
    report.add("scoring", "missing: use single (with a key) or weighted (with points per option)")
    return None


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _key(
    report: _Report, raw: RawItem, rules: Rules, scoring: ScoringKind | None, labels: list[str]
) -> str | None:
    key_text = _text(report, "key", raw.key, rules)
    if scoring is ScoringKind.WEIGHTED:
        if key_text is not None:
            report.add("key", "weighted items have no key (each option's points decide); remove it")
        return None
    if scoring is not ScoringKind.SINGLE:
        return None
    if key_text is None:
        if not _present(raw.key):
            report.add("key", raw.missing.get("key", "missing key: name the one correct option"))
        return None
    parts = [p for p in _KEY_SEPARATORS.split(key_text.upper()) if p]
    if len(parts) == 1 and len(parts[0]) > 1 and all(ch in labels for ch in parts[0]):
        parts = list(parts[0])
    if len(parts) > 1:
        report.add(
            "key",
            f"ambiguous key {key_text!r}: a single-answer item has exactly one correct option",
        )
        return None
    key = parts[0] if parts else ""
    if key not in labels:
        listed = ", ".join(label for label in labels if label) or "none"
        report.add("key", f"key {key_text!r} names no option (options: {listed})")
        return None
    return key


def _points(
    report: _Report,
    raw: RawItem,
    rules: Rules,
    scoring: ScoringKind | None,
    options: list[Option],
) -> list[Option]:
    low, high = rules.points_range
    result: list[Option] = []
    for raw_option, option in zip(raw.options, options, strict=True):
        where = raw_option.location
        points = _number(report, raw_option.points_field, raw_option.points, rules)
        if scoring is ScoringKind.SINGLE:
            if points is not None:
                report.add(
                    raw_option.points_field,
                    "single items carry no option points: set scoring to weighted, or remove them",
                    location=where,
                )
            result.append(option)
            continue
        if scoring is ScoringKind.WEIGHTED:
            if points is None and not _present(raw_option.points):
                report.add(
                    raw_option.points_field,
                    f"missing points for option {option.label or '?'} (weighted items give every"
                    " option points)",
                    location=where,
                )
            elif points is not None and not low <= points <= high:
                report.add(
                    raw_option.points_field,
                    f"points {_fmt(points)} out of range {_fmt(low)} to {_fmt(high)}",
                    location=where,
                )
        result.append(replace(option, points=points))
    return result


def _irt(report: _Report, raw: RawItem, rules: Rules) -> IRTParams | None:
    a = _number(report, "irt_a", raw.irt_a, rules)
    b = _number(report, "irt_b", raw.irt_b, rules)
    c = _number(report, "irt_c", raw.irt_c, rules)
    given = [_present(v) for v in (raw.irt_a, raw.irt_b, raw.irt_c)]
    if not any(given):
        return None
    ok = True
    if not given[0]:
        report.add("irt_a", "missing: IRT parameters need a (discrimination) and b (difficulty)")
        ok = False
    elif a is not None and a <= 0:
        report.add("irt_a", f"{_fmt(a)} is out of range: discrimination a must be above 0")
        ok = False
    if not given[1]:
        report.add("irt_b", "missing: IRT parameters need a (discrimination) and b (difficulty)")
        ok = False
    if c is not None and not 0.0 <= c < 1.0:
        report.add("irt_c", f"{_fmt(c)} is out of range: guessing c lies in 0 <= c < 1")
        ok = False
    if not ok or a is None or b is None:
        return None
    return IRTParams(a=a, b=b, c=c or 0.0)


def _source(report: _Report, value: object) -> MappingProxyType[str, str]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        report.add("source", f"expected an object of texts, got {_describe(value)}")
        return MappingProxyType({})
    result: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not isinstance(text, str):
            report.add("source", f"{name!r}: expected text, got {_describe(text)}")
            continue
        if _SURROGATE.search(name + text):
            report.add("source", f"{name!r} contains an invalid character")
            continue
        result[name] = text
    return MappingProxyType(result)


def _declared_media(report: _Report, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        names = [n for n in _MEDIA_SEPARATORS.split(value) if n]
    elif isinstance(value, list | tuple) and all(isinstance(n, str) for n in value):
        names = [str(n).strip() for n in value]
    else:
        report.add("media", f"expected a list of file names, got {_describe(value)}")
        return []
    for name in names:
        if not is_safe_media_name(name):
            report.add(
                "media",
                f"{_describe(name)} is not a relative file name inside the package"
                " (no scheme, no leading '/', no '..')",
            )
    return [n for n in names if is_safe_media_name(n)]


def _media(
    report: _Report,
    raw: RawItem,
    rules: Rules,
    resolve_media: MediaResolver | None,
    *,
    stem: str,
    options: list[Option],
) -> tuple[str, list[Option], tuple[Media, ...]]:
    names: dict[str, None] = dict.fromkeys(_declared_media(report, raw.media))
    for text in (stem, *(o.text for o in options)):
        if "<img" in text:
            names.update(dict.fromkeys(image_sources(text)))
    if not names:
        return stem, options, ()
    media: list[Media] = []
    missing: list[str] = []
    for name in names:
        found = resolve_media(name) if resolve_media is not None else None
        where = raw.media_locations.get(name)
        if isinstance(found, Media):
            media.append(Media(name=name, content_type=found.content_type, sha256=found.sha256))
        elif found is None:
            if rules.allow_missing_media:
                missing.append(name)
            else:
                report.add("media", f"{MISSING_MEDIA_MESSAGE}: {name}", location=where)
        else:
            report.add("media", f"{name}: {found}", location=where)
    if missing:
        stem = remove_images(stem, missing)
        options = [replace(o, text=remove_images(o.text, missing)) for o in options]
    return stem, options, tuple(media)
