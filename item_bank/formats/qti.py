"""IMS QTI choice items: read QTI 2.1, 2.2 and 3.0 (single XML or content package), write QTI 3.0.

What is read, and how it becomes an `Item`:

- one ``choiceInteraction`` with ``maxChoices="1"`` and a ``single`` response (anything else is
  refused with a located problem: multiple-response items are not supported);
- the item body around the interaction, then the interaction's ``prompt``, make the stem; each
  ``simpleChoice`` an option (labels A-F: the choice identifiers when they are already A-F,
  else by position);
- response processing ``match_correct`` (template URI of any version, or inline processing
  of the same shape) makes a ``single`` item keyed by the one correct value; ``map_response``
  makes a ``weighted`` item whose option points are the mapped values (``defaultValue`` for
  unmapped choices, clamped by ``lowerBound``/``upperBound``); without response processing, a
  ``mapping`` means ``map_response`` and a correct response ``match_correct``;
- section and topic, which QTI has no field for, come from the manifest's LOM keywords
  ``section:TWK`` / ``topic:pancasila`` (also ``level:``, ``p_value:``, ``irt_a:``, ``irt_b:``,
  ``irt_c:``, ``status:``), else the item's ``label`` attribute written ``TWK/pancasila``, else
  the defaults the caller gives.

XML is parsed by defusedxml with DTDs forbidden: an entity expansion or external entity payload
is refused, never resolved. The writer produces what the reader reads back to the same content
hashes.
"""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from types import MappingProxyType
from typing import IO
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from item_bank.errors import Problem
from item_bank.formats.base import (
    FileRefused,
    Limits,
    MediaLayout,
    ParsedItem,
    finish,
    parse_xml,
    xml_events,
)
from item_bank.formats.qti_processing import Declarations, Unsupported, Value, scores
from item_bank.formats.safezip import SafeZip
from item_bank.models import OPTION_LABELS, Item, ScoringKind, Stimulus
from item_bank.sanitize import REMOVED_WITH_CONTENT, judge_attribute, judge_element
from item_bank.validation import (
    REFUSED_CONTENT,
    MediaResolver,
    RawItem,
    RawOption,
    RawStimulus,
    Rules,
    parse_number,
)

MANIFEST = "imsmanifest.xml"
QTI3_NAMESPACE = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
QTI3_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
CP3_NAMESPACE = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
CP3_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
LOM_NAMESPACE = "http://ltsc.ieee.org/xsd/LOM"
TEMPLATE_BASE = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/"
#: The manifest identifier of this engine's own QTI exports (an item's ``source.qti_package``).
EXPORT_IDENTITY = "ujian-bank-export"

#: Item metadata read from ``name:value`` keywords, named as the CSV columns.
KEYWORD_FIELDS = ("section", "topic", "level", "p_value", "irt_a", "irt_b", "irt_c", "status")

MULTIPLE_RESPONSE = "multiple-response items are not supported: only one option may be chosen"
NO_SECTION = (
    "unknown section: QTI has no section field; give it as a manifest keyword 'section:TWK',"
    " as the item's label attribute 'TWK/topic', or as the import's default section"
)
NO_TOPIC = (
    "unknown topic: give it as a manifest keyword 'topic:name', as the item's label attribute"
    " 'SECTION/topic', or as the import's default topic"
)

_VOID = frozenset({"br", "img", "hr"})
#: Deepest element nesting read; real items nest a dozen levels (and the HTML writer recurses).
MAX_DEPTH = 100
# Body elements that are not question text: feedback (shown after an answer is checked, which
# an exam never does), scorer-only rubrics, style sheets, accessibility catalogues.
_NOT_TEXT = frozenset(
    {
        "feedbackInline", "feedbackBlock", "modalFeedback", "rubricBlock", "templateBlock",
        "templateInline", "stylesheet", "printedVariable", "catalogInfo", "companionMaterialsInfo",
    }
)  # fmt: skip
# Response processing templates by name (QTI and Common Cartridge), and what they compute.
TEMPLATES: Mapping[str, str] = MappingProxyType(
    {
        "match_correct": "match_correct",
        "CC2_match": "match_correct",
        "CC2_match_basic": "match_correct",
        "map_response": "map_response",
        "CC2_map_response": "map_response",
    }
)
TEMPLATE_REFUSED = (
    "template items are not supported: their values are computed for each candidate"
    " (templateDeclaration / templateProcessing), and a static copy would show the formula"
    " without its values"
)
STIMULUS_REFUSED = (
    "shared passages (stimuli) are not accepted by this import: the item would lose the text"
    " its question is about (import its package with passages accepted, or put the passage in"
    " the item body)"
)
#: Identifiers of the ``modalFeedback`` that carries an item's *pembahasan* (explanation); any
#: other feedback (shown when an answer is checked) is still left out.
EXPLANATION_FEEDBACK = frozenset({"explanation", "pembahasan"})
_LABEL = re.compile(r"\s*([A-Za-z0-9_-]{1,32})\s*/\s*(\S.*?)\s*$")
_KEYWORD = re.compile(r"\s*([A-Za-z_]+)\s*[:=]\s*(.*?)\s*$")


MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


@functools.lru_cache(maxsize=2048)
def _neutral(name: str) -> str:
    """A namespaced tag or attribute as a QTI 2 name (the few names of QTI recur constantly)."""
    # QTI 3 writes qti-choice-interaction / max-choices; QTI 2 choiceInteraction / maxChoices.
    name = _local(name).removeprefix("qti-")
    if "-" not in name:
        return name
    first, *rest = name.split("-")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


@dataclass(slots=True)
class _Tree:
    """A parsed QTI document with version-neutral names and each element's path for reports."""

    root: Element
    paths: dict[Element, str]
    version: str

    @classmethod
    def of(cls, root: Element) -> _Tree:
        """Index ``root``'s elements by path, then rename them to QTI 2 names (in place)."""
        root_name = _local(root.tag)
        version = "3.0" if root_name.startswith("qti-") else _version_of(root.tag)
        paths: dict[Element, str] = {root: root_name}
        stack: list[tuple[Element, int]] = [(root, 1)]
        while stack:
            element, depth = stack.pop()
            if depth > MAX_DEPTH:
                raise FileRefused(
                    f"XML nested deeper than {MAX_DEPTH} elements", location=paths[element]
                )
            names = [_local(child.tag) for child in element]
            counts = Counter(names)
            seen: dict[str, int] = {}
            here = paths[element]
            for child, name in zip(element, names, strict=True):
                step = name
                if counts[name] > 1:
                    seen[name] = seen.get(name, 0) + 1
                    step = f"{name}[{seen[name]}]"
                paths[child] = f"{here}/{step}"
                stack.append((child, depth + 1))
            if element.tag.startswith("{" + MATHML_NAMESPACE):
                # MathML keeps its own names (annotation-xml is not a QTI name to convert).
                element.tag = _local(element.tag)
            else:
                element.tag = _neutral(element.tag)
            if element.attrib:
                attributes = {_neutral(k): v for k, v in element.attrib.items()}
                element.attrib.clear()
                element.attrib.update(attributes)
        return cls(root=root, paths=paths, version=version)


def _unfence(tree: _Tree) -> None:
    """Rewrite MathML 2's ``<mfenced>`` as the ``<mrow>`` of ``<mo>`` fences MathML Core renders.

    ``<mfenced open="[" separators=";">a b</mfenced>`` shows as ``[a;b]`` in MathML 2; browsers
    no longer render ``mfenced``, but they do render ``<mrow><mo>[</mo>a<mo>;</mo>b<mo>]</mo>
    </mrow>``, which is what the specification defines it to mean. Nested fences are rewritten
    inside out; new elements take the path of the ``mfenced`` they replace (for reports).
    """

    def visit(element: Element) -> None:
        for index, child in enumerate(list(element)):
            visit(child)
            if child.tag != "mfenced":
                continue
            where = tree.paths[child]

            def mo(text: str, where: str = where) -> Element:
                operator = Element("mo")
                operator.text = text
                tree.paths[operator] = where
                return operator

            opening, closing = child.get("open", "("), child.get("close", ")")
            separators = "".join(child.get("separators", ",").split())
            row = Element("mrow")
            row.tail = child.tail
            tree.paths[row] = where
            if opening:
                row.append(mo(opening))
            for position, part in enumerate(list(child)):
                if position and separators:
                    row.append(mo(separators[min(position - 1, len(separators) - 1)]))
                part.tail = None
                row.append(part)
            if closing:
                row.append(mo(closing))
            element[index] = row

    visit(tree.root)


def _version_of(tag: str) -> str:
    if "imsqti_v2p2" in tag:
        return "2.2"
    if "imsqti_v2p0" in tag:
        return "2.0"
    return "2.1"


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if child.tag == name]


def _child(element: Element, name: str) -> Element | None:
    return next((child for child in element if child.tag == name), None)


def _text(text: str | None) -> str:
    if not text:
        return ""
    if "\n" in text and not text.strip():
        return "\n"  # indentation of the XML file: renders as one space, stored as one newline
    return escape(text, quote=False)


class _Html:
    """Serializes QTI body content as HTML, noting where each image is referenced."""

    def __init__(self, tree: _Tree, hidden: frozenset[Element] = frozenset()) -> None:
        self.tree = tree
        self.images: dict[str, str] = {}
        self.hidden = hidden  # passages read as a Stimulus, shown beside the item instead

    def inner(self, element: Element, replace: Mapping[Element, str] | None = None) -> str:
        parts = [_text(element.text)]
        for child in element:
            parts.append(self.outer(child, replace or {}))
            parts.append(_text(child.tail))
        return "".join(parts)

    def outer(self, element: Element, replace: Mapping[Element, str]) -> str:
        if element in replace:
            return replace[element]
        tag = element.tag
        if tag in _NOT_TEXT or tag.endswith("Interaction") or element in self.hidden:
            return ""
        attributes = dict(element.attrib)
        if tag == "object" and attributes.get("type", "").startswith("image/"):
            # QTI 2.0-era tools embed pictures as <object type="image/png" data="...">.
            tag = "img"
            alt = "".join(element.itertext()).strip()
            attributes = {"src": attributes.get("data", ""), "alt": alt}
        if tag == "img" and attributes.get("src"):
            self.images.setdefault(attributes["src"], self.tree.paths[element])
        rendered = "".join(f' {k}="{escape(v)}"' for k, v in attributes.items())
        if tag in _VOID:
            return f"<{tag}{rendered}>"
        return f"<{tag}{rendered}>{self.inner(element, replace)}</{tag}>"


# What the response processing makes of the item: ("match_correct" | "map_response", None) by
# template, or ("single", {choice: points}) / ("weighted", {choice: points}) by evaluation.
_Scoring = tuple[str, dict[str, float] | None]


def _typed(text: str, base_type: str) -> Value:
    if base_type in {"float", "integer"}:
        try:
            return float(text)
        except ValueError:
            return None
    if base_type == "boolean":
        return text == "true"
    return text


def _declarations(root: Element, declaration: Element) -> Declarations:
    correct = _child(declaration, "correctResponse")
    values = (
        [(v.text or "").strip() for v in _children(correct, "value")] if correct is not None else []
    )
    mapping = _child(declaration, "mapping")
    mapped: dict[str, float] | None = None
    default, lower, upper = 0.0, None, None
    if mapping is not None:
        mapped = {}
        for entry in _children(mapping, "mapEntry"):
            try:
                mapped[(entry.get("mapKey") or "").strip()] = (
                    parse_number(entry.get("mappedValue")) or 0.0
                )
            except ValueError:
                continue  # reported where the mapping is read for the item's points
        try:
            default = parse_number(mapping.get("defaultValue")) or 0.0
            lower = parse_number(mapping.get("lowerBound"))
            upper = parse_number(mapping.get("upperBound"))
        except ValueError:
            pass
    outcomes: dict[str, Value] = {}
    for outcome in _children(root, "outcomeDeclaration"):
        base_type = outcome.get("baseType") or ""
        start: Value = 0.0 if base_type in {"float", "integer"} else None
        default_value = _child(outcome, "defaultValue")
        given = _child(default_value, "value") if default_value is not None else None
        if given is not None:
            start = _typed((given.text or "").strip(), base_type)
        outcomes[outcome.get("identifier") or ""] = start
    return Declarations(
        response=declaration.get("identifier") or "",
        correct=values[0] if len(values) == 1 else None,
        mapping=mapped,
        default=default,
        lower=lower,
        upper=upper,
        outcomes=outcomes,
    )


def _points(value: float) -> str:
    return f"{value:g}"


def _scoring(
    file: str, tree: _Tree, root: Element, declaration: Element, identifiers: list[str]
) -> _Scoring | Problem:
    """How the item is scored, from its processing template or by evaluating its processing."""
    processing = _child(root, "responseProcessing")
    if processing is None:
        if _child(declaration, "mapping") is not None:
            return "map_response", None
        return "match_correct", None
    where = tree.paths[processing]
    template = processing.get("template") or processing.get("templateLocation") or ""
    if template and not len(processing):
        name = template.rstrip("/").rsplit("/", 1)[-1].removesuffix(".xml")
        if name in TEMPLATES:
            return TEMPLATES[name], None
        return Problem(
            file,
            where,
            "template",
            f"response processing template {template!r} is not one of the supported templates"
            f" ({', '.join(TEMPLATES)}) and carries no processing to evaluate",
        )
    if not len(processing):
        return Problem(file, where, "", "the response processing is empty: nothing is scored")
    try:
        blank, by_choice = scores(processing, _declarations(root, declaration), identifiers)
    except Unsupported as error:
        element = error.element
        return Problem(
            file,
            tree.paths.get(element, where),
            _local(tree.paths.get(element, element.tag).rsplit("/", 1)[-1]),
            f"response processing cannot be evaluated: {error.reason}",
        )
    if blank != 0:
        return Problem(
            file,
            where,
            "",
            f"response processing gives {_points(blank)} points for no answer; a blank answer"
            " is scored by the exam's rules, not by the item",
        )
    earning = [choice for choice, points in by_choice.items() if points != 0]
    if not earning:
        return Problem(
            file, where, "", "response processing never gives points, whatever the answer"
        )
    if len(earning) == 1 and by_choice[earning[0]] > 0:
        return "single", by_choice
    return "weighted", by_choice


# Root elements an item may carry that the engine cannot represent, and why.
_ROOT_REFUSED: Mapping[str, str] = MappingProxyType(
    {
        "templateDeclaration": TEMPLATE_REFUSED,
        "templateProcessing": TEMPLATE_REFUSED,
        "assessmentStimulusRef": STIMULUS_REFUSED,
        "companionMaterialsInfo": (
            "companion materials (calculator, rule, protractor, reference sheets) are not"
            " offered to candidates by the engine"
        ),
    }
)
# Body elements that show values computed by template processing.
_TEMPLATE_CONTENT = frozenset({"templateBlock", "templateInline", "printedVariable"})
# Body elements left out of the question text on purpose (see _NOT_TEXT), checked no further.
_SKIPPED = frozenset(_NOT_TEXT - _TEMPLATE_CONTENT - {"rubricBlock"})
_TOKENS = frozenset({"mi", "mn", "mo", "ms", "mtext"})
_STEP_INDEX = re.compile(r"\[[0-9]+\]$")


def _refused_constructs(
    file: str,
    tree: _Tree,
    body: Element,
    interaction: Element | None,
    passages: frozenset[Element] = frozenset(),
) -> list[Problem]:
    """Every construct of the item that would be lost or changed on import, located.

    Refuse, never strip: the item body is walked as the HTML of the stem and options will be
    read, and whatever `item_bank.sanitize` would remove that a candidate would miss (code,
    video, frames, unknown elements, images from outside the package, MathML outside MathML
    Core), and what QTI adds that the engine cannot show (template values, shared passages,
    rubrics for candidates, embedded documents), is a problem at its element path. Elements in
    ``passages`` are read as the item's `Stimulus` and not judged here.
    """
    paths = tree.paths
    problems: list[Problem] = []

    def refuse(element: Element, field: str, message: str, at: str | None = None) -> None:
        problems.append(Problem(file, at or paths[element], field, f"{REFUSED_CONTENT}: {message}"))

    for child in tree.root:
        if child.tag in _ROOT_REFUSED and child not in passages:
            named = _STEP_INDEX.sub("", _local(paths[child].rsplit("/", 1)[-1]))
            refuse(child, named, f"<{named}>: {_ROOT_REFUSED[child.tag]}")

    def walk(element: Element, in_math: bool) -> None:
        for child in element:
            tag = child.tag
            named = _STEP_INDEX.sub("", _local(paths[child].rsplit("/", 1)[-1]))
            if child is interaction:
                for part in child:
                    if part.tag in {"prompt", "simpleChoice"}:
                        walk(part, False)
                    elif part.tag not in _SKIPPED:
                        refuse(part, named, f"<{named}> inside the interaction is not supported")
                continue
            if tag in _SKIPPED or tag.endswith("Interaction") or child in passages:
                continue
            if tag == "rubricBlock":
                if "candidate" in (child.get("view") or ""):
                    refuse(
                        child,
                        named,
                        f"<{named}> for candidates is not supported: its text would be missing",
                    )
                continue
            if tag in _TEMPLATE_CONTENT:
                refuse(child, named, f"<{named}>: {TEMPLATE_REFUSED}")
                continue
            if tag == "include":
                refuse(child, named, f"<{named}> of another document: {STIMULUS_REFUSED}")
                continue
            if tag == "object":
                kind = child.get("type") or ""
                data = child.get("data") or ""
                if kind.startswith("image/"):
                    judged = judge_attribute("img", "src", data, in_math=False)
                    if judged is not None and judged[2]:
                        refuse(child, "data", f"{judged[0]} {judged[1]}", f"{paths[child]}/@data")
                elif kind.startswith(("text/html", "application/xhtml")) or data.endswith(
                    (".html", ".htm", ".xhtml")
                ):
                    refuse(child, named, f"<{named}> passage {data!r}: {STIMULUS_REFUSED}")
                else:
                    refuse(
                        child,
                        named,
                        f"<{named}> of type {kind or 'unknown'!r} ({data!r}) is not supported:"
                        " only images may be embedded; video, audio and applications are not"
                        " stored, played offline and exported",
                    )
                continue
            math = in_math or tag == "math"
            verdict = judge_element(tag, in_math=in_math)
            if verdict is not None and verdict[2]:
                # Named as the file writes it (qti-gap, m:mfenced), not as read internally.
                refuse(child, named, f"{verdict[0].replace(f'<{tag}>', f'<{named}>')} {verdict[1]}")
                if tag in REMOVED_WITH_CONTENT or tag in {"video", "audio"}:
                    continue
            for attribute, value in child.attrib.items():
                judged = judge_attribute(tag, attribute, value, in_math=math)
                if judged is not None and judged[2]:
                    at = paths[child] if attribute.startswith("on") else None
                    refuse(
                        child,
                        attribute,
                        f"{judged[0]} {judged[1]}",
                        at or f"{paths[child]}/@{attribute}",
                    )
            walk(child, math and tag not in _TOKENS)

    walk(body, False)
    return problems


@dataclass(frozen=True, slots=True)
class Fetched:
    """A file of the package a QTI item refers to: its bytes, path and image resolver."""

    data: bytes
    path: str
    resolve_media: MediaResolver


#: Reads a file named relative to the item document, or gives a message saying why it cannot.
Fetch = Callable[[str], Fetched | str]

_BODY = re.compile(r"<body\b[^>]*>(.*)</body\s*>", re.IGNORECASE | re.DOTALL)
_NOT_CODE = re.compile(r"[^A-Za-z0-9._-]+")


def _outside_a_package(href: str) -> str:
    return (
        f"the passage file {href!r} cannot be read from a single .xml file: import the item's"
        " content package, which carries its passages"
    )


def _fetcher(
    archive: SafeZip,
    names: set[str],
    folder: str,
    limits: Limits,
    resolver_for: Callable[[str], MediaResolver],
) -> Fetch:
    def fetch(href: str) -> Fetched | str:
        path = posixpath.normpath(posixpath.join(folder, href))
        if not href or path.startswith("../") or path.startswith("/") or path not in names:
            return f"the passage file {href!r} is not in the package"
        try:
            data = archive.read(path, limits.max_xml_bytes)
        except FileRefused as refused:
            return f"the passage file {href!r}: {refused.message}"
        return Fetched(data=data, path=path, resolve_media=resolver_for(posixpath.dirname(path)))

    return fetch


def _passage(
    file: str, tree: _Tree, body: Element, fetch: Fetch | None
) -> tuple[frozenset[Element], RawStimulus | None, list[Problem]]:
    """The item's passage, when passages are accepted (``fetch`` given) and it has one.

    A QTI 3.0 ``qti-assessment-stimulus-ref`` names a ``qti-assessment-stimulus`` file; a QTI
    2.x item embeds an HTML passage as ``<object type="text/html" data="...">``. One passage
    per item; without ``fetch`` nothing is read here and the constructs are refused.
    """
    if fetch is None:
        return frozenset(), None, []
    paths = tree.paths
    refs = _children(tree.root, "assessmentStimulusRef")
    objects = [
        e
        for e in body.iter()
        if e.tag == "object"
        and (
            (e.get("type") or "").startswith(("text/html", "application/xhtml"))
            or (e.get("data") or "").endswith((".html", ".htm", ".xhtml"))
        )
    ]
    found = refs + objects
    if not found:
        return frozenset(), None, []
    if len(found) > 1:
        return (
            frozenset(found),
            None,
            [
                Problem(
                    file,
                    paths[extra],
                    _local(paths[extra].rsplit("/", 1)[-1]),
                    f"{REFUSED_CONTENT}: an item may refer to one passage only",
                )
                for extra in found[1:]
            ],
        )
    element = found[0]
    where = paths[element]
    href = element.get("href" if element in refs else "data") or ""
    fetched = fetch(href)
    field = "href" if element in refs else "data"
    if isinstance(fetched, str):
        return frozenset({element}), None, [Problem(file, where, field, fetched)]
    package = file.rsplit(":", 1)[0]
    if element in objects:
        try:
            text = fetched.data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return (
                frozenset({element}),
                None,
                [Problem(file, where, field, "the passage is not UTF-8")],
            )
        inside = _BODY.search(text)
        code = _NOT_CODE.sub("-", posixpath.splitext(fetched.path)[0]).strip("-")[:64]
        raw = RawStimulus(
            code=code,
            content=inside.group(1) if inside else text,
            location=where,
            code_field="data",
            content_field="object",
            resolve_media=fetched.resolve_media,
        )
        return frozenset({element}), raw, []
    try:
        passage = _Tree.of(parse_xml(fetched.data))
        _unfence(passage)
    except FileRefused as refused:
        return frozenset({element}), None, [refused.problem(f"{package}:{fetched.path}")]
    root = passage.root
    stimulus_body = _child(root, "stimulusBody")
    if root.tag != "assessmentStimulus" or stimulus_body is None:
        return (
            frozenset({element}),
            None,
            [
                Problem(
                    f"{package}:{fetched.path}",
                    passage.paths[root],
                    "",
                    "expected a qti-assessment-stimulus with a qti-stimulus-body",
                )
            ],
        )
    problems = _refused_constructs(f"{package}:{fetched.path}", passage, stimulus_body, None)
    html = _Html(passage)
    content = html.inner(stimulus_body)
    raw = RawStimulus(
        code=root.get("identifier") or element.get("identifier"),
        content=content,
        title=root.get("title") or element.get("title"),
        location=where,
        code_field="identifier",
        content_field="qti-stimulus-body",
        media_locations={name: f"{fetched.path}: {path}" for name, path in html.images.items()},
        resolve_media=fetched.resolve_media,
    )
    return frozenset({element}), raw, problems


@dataclass(frozen=True, slots=True)
class QtiDefaults:
    """Section and topic for items whose QTI carries none (QTI has no field for them)."""

    section: str | None = None
    topic: str | None = None


def _read_item(
    tree: _Tree,
    *,
    file: str,
    metadata: Mapping[str, str],
    defaults: QtiDefaults,
    fetch: Fetch | None = None,
) -> tuple[RawItem | None, list[Problem]]:
    root, paths = tree.root, tree.paths
    here = paths[root]
    name = root.tag
    if name == "questestinterop":
        return None, [Problem(file, here, "", "QTI 1.x is not supported: export as QTI 2.1 or 3.0")]
    if name != "assessmentItem":
        return None, [
            Problem(file, here, "", f"expected a QTI assessment item, found <{_local(here)}>")
        ]
    body = _child(root, "itemBody")
    if body is None:
        return None, [Problem(file, here, "itemBody", "the item has no body")]
    interactions = [e for e in body.iter() if e.tag.endswith("Interaction")]
    if not interactions:
        return None, [Problem(file, paths[body], "", "the item has no choice interaction")]
    if len(interactions) > 1:
        return None, [
            Problem(file, paths[body], "", "items with more than one interaction are not supported")
        ]
    interaction = interactions[0]
    where = paths[interaction]
    if interaction.tag != "choiceInteraction":
        return None, [
            Problem(
                file,
                where,
                "",
                f"<{_local(where.rsplit('/', 1)[-1])}> is not supported: only choice interactions",
            )
        ]
    declarations = {d.get("identifier"): d for d in _children(root, "responseDeclaration")}
    declaration = declarations.get(interaction.get("responseIdentifier"))
    if declaration is None:
        return None, [
            Problem(
                file,
                where,
                "responseIdentifier",
                "names no responseDeclaration of the item",
            )
        ]
    max_choices = (interaction.get("maxChoices") or "1").strip()
    cardinality = (declaration.get("cardinality") or "single").strip()
    if max_choices != "1" or cardinality != "single":
        return None, [
            Problem(
                file,
                where if max_choices != "1" else paths[declaration],
                "maxChoices" if max_choices != "1" else "cardinality",
                f'{MULTIPLE_RESPONSE} (maxChoices="{max_choices}", cardinality="{cardinality}")',
            )
        ]

    passage_elements, stimulus, passage_problems = _passage(file, tree, body, fetch)
    refused = _refused_constructs(file, tree, body, interaction, passage_elements)
    if refused or passage_problems:
        return None, refused + passage_problems

    html = _Html(tree, passage_elements)
    prompt = _child(interaction, "prompt")
    prompt_html = html.inner(prompt).strip() if prompt is not None else ""
    if prompt_html and "<p" not in prompt_html:
        prompt_html = f"<p>{prompt_html}</p>"
    stem = html.inner(body, {interaction: prompt_html})

    choices = _children(interaction, "simpleChoice")
    identifiers = [c.get("identifier") or "" for c in choices]
    keep_ids = len(set(identifiers)) == len(identifiers) and all(
        i in OPTION_LABELS for i in identifiers
    )
    labels = {
        identifier: identifier if keep_ids else _positional(index, identifier)
        for index, identifier in enumerate(identifiers)
    }
    options = [
        RawOption(
            label=labels[identifier],
            text=html.inner(choice),
            label_field="identifier",
            text_field="simpleChoice",
            points_field="mapEntry",
            location=paths[choice],
            fixed=choice.get("fixed"),
        )
        for identifier, choice in zip(identifiers, choices, strict=True)
    ]

    problems: list[Problem] = []
    scoring_found = _scoring(file, tree, root, declaration, identifiers)
    if isinstance(scoring_found, Problem):
        # Without known scoring nothing else about the item can be judged.
        return None, [scoring_found]
    kind, evaluated = scoring_found
    key: str | None = None
    no_key = "missing key: the responseDeclaration has no correctResponse value"
    if kind == "match_correct":
        scoring = "single"
        correct = _child(declaration, "correctResponse")
        values = (
            [(e.text or "").strip() for e in _children(correct, "value")]
            if correct is not None
            else []
        )
        unknown = [v for v in values if v not in labels]
        if unknown:
            no_key = f"correct value {unknown[0]!r} names no simpleChoice"
        else:
            # Validation judges the key (missing, ambiguous) as in every format.
            key = " ".join(labels[v] for v in values) or None
    elif kind == "map_response":
        scoring = "weighted"
        problems = _mapped_points(
            file, tree, declaration, options=options, labels=labels, identifiers=identifiers
        )
    elif kind == "single":
        assert evaluated is not None
        scoring = "single"
        key = next(labels[c] for c, points in evaluated.items() if points > 0)
    else:
        assert evaluated is not None
        scoring = "weighted"
        for option, identifier in zip(options, identifiers, strict=True):
            option.points = evaluated[identifier]

    section, topic = _section_and_topic(root, metadata, defaults)
    explanation = next(
        (
            feedback
            for feedback in _children(root, "modalFeedback")
            if (feedback.get("identifier") or "").strip().lower() in EXPLANATION_FEEDBACK
        ),
        None,
    )
    raw = RawItem(
        location=here,
        code=root.get("identifier"),
        section=section,
        topic=topic,
        stem=stem,
        scoring=scoring,
        key=key,
        options=options,
        p_value=metadata.get("p_value"),
        level=metadata.get("level"),
        irt_a=metadata.get("irt_a"),
        irt_b=metadata.get("irt_b"),
        irt_c=metadata.get("irt_c"),
        status=metadata.get("status"),
        source=_source(root, tree, identifiers, keep_ids)
        | {k: v for k, v in metadata.items() if k in {"qti_package", "qti_resource"}},
        # QTI's default is not to shuffle (the attribute is required in 2.x, optional in 3.0).
        shuffle=interaction.get("shuffle") or "false",
        fields={
            "code": "identifier",
            "key": "correctResponse",
            "stem": "itemBody",
            "shuffle": "shuffle",
            "explanation": "modalFeedback",
        },
        locations={
            "key": paths[declaration],
            "stem": paths[body],
            "shuffle": where,
            **({} if explanation is None else {"explanation": paths[explanation]}),
        },
        stimulus=stimulus,
        explanation=None if explanation is None else html.inner(explanation),
        media_locations=html.images,
        missing={
            "section": NO_SECTION,
            "topic": NO_TOPIC,
            "key": no_key,
        },
    )
    return raw, problems


def _positional(index: int, identifier: str) -> str:
    return OPTION_LABELS[index] if index < len(OPTION_LABELS) else identifier


def _mapped_points(
    file: str,
    tree: _Tree,
    declaration: Element,
    *,
    options: list[RawOption],
    labels: Mapping[str, str],
    identifiers: list[str],
) -> list[Problem]:
    paths = tree.paths
    mapping = _child(declaration, "mapping")
    if mapping is None:
        return [
            Problem(file, paths[declaration], "mapping", "map_response needs a mapping of points")
        ]
    problems: list[Problem] = []

    def number(element: Element, attribute: str) -> float | None:
        try:
            return parse_number(element.get(attribute))
        except ValueError as error:
            problems.append(Problem(file, paths[element], attribute, str(error)))
            return None

    default = number(mapping, "defaultValue") or 0.0
    lower = number(mapping, "lowerBound")
    upper = number(mapping, "upperBound")
    mapped: dict[str, float] = {}
    for entry in _children(mapping, "mapEntry"):
        choice_id = (entry.get("mapKey") or "").strip()
        value = number(entry, "mappedValue")
        if choice_id not in labels:
            problems.append(
                Problem(file, paths[entry], "mapKey", f"{choice_id!r} names no simpleChoice")
            )
        elif value is not None:
            mapped[choice_id] = value
    for option, identifier in zip(options, identifiers, strict=True):
        points = mapped.get(identifier, default)
        if lower is not None:
            points = max(points, lower)
        if upper is not None:
            points = min(points, upper)
        option.points = points
    return problems


def _section_and_topic(
    root: Element, metadata: Mapping[str, str], defaults: QtiDefaults
) -> tuple[str | None, str | None]:
    section, topic = metadata.get("section"), metadata.get("topic")
    label = _LABEL.match(root.get("label") or "")
    if label:
        section = section or label.group(1)
        topic = topic or label.group(2)
    return section or defaults.section, topic or defaults.topic


def _source(root: Element, tree: _Tree, identifiers: list[str], kept: bool) -> dict[str, str]:
    source = {"format": f"qti {tree.version}", "qti_identifier": root.get("identifier") or ""}
    if root.get("title"):
        source["qti_title"] = root.get("title") or ""
    if not kept:
        source["qti_choices"] = " ".join(identifiers)
    return source


def read_qti_item(
    data: bytes,
    *,
    file: str,
    rules: Rules,
    resolve_media: MediaResolver | None,
    defaults: QtiDefaults,
    metadata: Mapping[str, str] | None = None,
    fetch: Fetch | None = None,
) -> Iterator[ParsedItem | Problem]:
    """Read one QTI item document.

    Parameters
    ----------
    data
        The item's XML.
    file
        Its name for reports.
    rules
        Validation rules of the upload.
    resolve_media
        Finds its images (relative to the item document).
    defaults
        Section and topic when neither the metadata nor the item gives them.
    metadata
        ``name:value`` keywords from the package manifest.
    fetch
        Reads a file named relative to the item (its passage) from the package; ``None`` for a
        single file, whose passages cannot be read. Passages are read only when
        ``rules.accept_stimuli``; otherwise an item with one is refused.

    Yields
    ------
    ParsedItem | Problem
        The item, or its problems located by element path.
    """
    try:
        tree = _Tree.of(parse_xml(data))
    except FileRefused as refused:
        yield refused.problem(file)
        return
    _unfence(tree)
    raw, problems = _read_item(
        tree,
        file=file,
        metadata=metadata or {},
        defaults=defaults,
        fetch=(fetch or _outside_a_package) if rules.accept_stimuli else None,
    )
    if raw is None:
        yield from problems
        return
    for record in finish(raw, file=file, rules=rules, resolve_media=resolve_media):
        if isinstance(record, ParsedItem) and problems:
            continue
        yield record
    yield from problems


def _resources(archive: SafeZip) -> Iterator[tuple[str, Element, str]]:
    """Each ``resource`` of the manifest with its element path and the manifest's identifier.

    A national bank's manifest lists tens of thousands of resources; each is released once
    its item has been read.
    """
    with archive.open(MANIFEST) as stream:
        path: list[str] = []
        holder: Element | None = None
        count = 0
        identity = ""
        for event, element in xml_events(stream, what=MANIFEST):
            name = _local(element.tag)
            if event == "start":
                path.append(name)
                if len(path) == 1:
                    identity = element.get("identifier") or ""
                if path[1:] == ["resources"]:
                    holder = element
                continue
            if path[1:] == ["resources", "resource"] and holder is not None:
                count += 1
                yield f"{path[0]}/resources/resource[{count}]", element, identity
                holder.clear()
            path.pop()


def _identity(package: str, resource: Element) -> dict[str, str]:
    # Where the item came from, so that a later upload of the same package can be told apart
    # from an unrelated item that happens to share its identifier.
    found = {"qti_package": package} if package else {}
    if resource.get("identifier"):
        found["qti_resource"] = resource.get("identifier") or ""
    return found


def _keywords(resource: Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for metadata in resource:
        if _local(metadata.tag) != "metadata":
            continue
        for keyword in metadata.iter():
            if _local(keyword.tag) != "keyword":
                continue
            for text in keyword.itertext():
                match = _KEYWORD.match(text)
                if match and match.group(1).lower() in KEYWORD_FIELDS:
                    found.setdefault(match.group(1).lower(), match.group(2))
    return found


def _href(resource: Element) -> str | None:
    href = resource.get("href")
    if href:
        return href
    first = next((f for f in resource if _local(f.tag) == "file"), None)
    return first.get("href") if first is not None else None


def is_item_resource(kind: str) -> bool:
    """Whether a manifest resource of type ``kind`` is an item: QTI 2.x/3.0 or APIP.

    APIP items (``imsqti_apipitem_xmlv2p1``, ``imsapip_qtiitem_xmlv2p2`` ...) are QTI 2.1/2.2
    items with accessibility information added; their QTI content is read like any item.
    """
    lowered = kind.lower()
    return lowered.startswith("imsqti_item") or ("apip" in lowered and "item" in lowered)


def read_qti_package(
    archive: SafeZip,
    *,
    file: str,
    rules: Rules,
    limits: Limits,
    resolver_for: Callable[[str], MediaResolver],
    defaults: QtiDefaults,
) -> Iterator[ParsedItem | Problem]:
    """Read the items of a QTI content package, in manifest order.

    ``resolver_for(folder)`` gives the media resolver for item documents in ``folder`` (image
    paths in an item are relative to the item document). Resources other than items (tests,
    images, style sheets, passages) are skipped; QTI 1.x resources are refused. APIP items are
    read as the QTI items they are.
    """
    names = set(archive.names)
    items = 0
    others: Counter[str] = Counter()
    for where, resource, identity in _resources(archive):
        kind = resource.get("type") or ""
        if kind.startswith("imsqti_xmlv1"):
            yield Problem(file, where, "type", "QTI 1.x is not supported: export as QTI 2.1 or 3.0")
            continue
        if not is_item_resource(kind):
            others[kind or "(no type)"] += 1
            continue
        items += 1
        href = _href(resource)
        path = posixpath.normpath(href) if href else ""
        if not href or path not in names:
            yield Problem(
                file,
                where,
                "href",
                f"the item file {href!r} is listed in the manifest but not in the package",
            )
            continue
        try:
            data = archive.read(path, limits.max_xml_bytes)
        except FileRefused as refused:
            yield Problem(file, path, "", refused.message)
            continue
        yield from read_qti_item(
            data,
            file=f"{file}:{path}",
            rules=rules,
            resolve_media=resolver_for(posixpath.dirname(path)),
            defaults=defaults,
            metadata=_keywords(resource) | _identity(identity, resource),
            fetch=_fetcher(archive, names, posixpath.dirname(path), limits, resolver_for),
        )
    if not items:
        listed = ", ".join(f"{kind} ({count})" for kind, count in others.most_common(8))
        yield Problem(
            file,
            MANIFEST,
            "",
            "the manifest lists no QTI items (resources of type imsqti_item_xmlv2p1,"
            " ..._xmlv3p0, or APIP items imsqti_apipitem_xmlv2p1)"
            + (f"; it lists: {listed}" if listed else "; it lists no resources"),
        )


# ---------------------------------------------------------------------------------------------
# Writing QTI 3.0


class _Xhtml(HTMLParser):
    """Re-serializes sanitized HTML as well-formed XHTML for a QTI document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], close: bool) -> None:
        rendered = "".join(f" {name}={quoteattr(value or '')}" for name, value in attrs)
        if tag == "math":
            rendered = f' xmlns="{MATHML_NAMESPACE}"{rendered}'  # MathML in its own namespace
        self.parts.append(f"<{tag}{rendered}{'/' if close else ''}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, tag in _VOID)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(tag, attrs, True)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(xml_escape(data))


def to_xhtml(clean: str) -> str:
    """Sanitized HTML (see `item_bank.sanitize`) as XHTML that an XML parser accepts."""
    parser = _Xhtml()
    parser.feed(clean)
    parser.close()
    return "".join(parser.parts)


def _num(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def item_to_qti(item: Item, stimulus_href: str | None = None) -> str:
    """One item as a QTI 3.0 ``qti-assessment-item`` document.

    ``stimulus_href`` is where its passage's ``qti-assessment-stimulus`` file lies, relative
    to the item document (required when the item has a passage).
    """
    weighted = item.scoring is ScoringKind.WEIGHTED
    if weighted:
        entries = "".join(
            f'<qti-map-entry map-key="{o.label}" mapped-value="{_num(o.points or 0.0)}"/>'
            for o in item.options
        )
        response = f'<qti-mapping default-value="0">{entries}</qti-mapping>'
        template = "map_response"
    else:
        response = f"<qti-correct-response><qti-value>{item.key}</qti-value></qti-correct-response>"
        template = "match_correct"
    fixed = ' fixed="true"'
    choices = "".join(
        f"<qti-simple-choice identifier={quoteattr(o.label)}{fixed if o.fixed else ''}>"
        f"{to_xhtml(o.text)}</qti-simple-choice>"
        for o in item.options
    )
    shuffle = "true" if item.shuffle else "false"
    label = quoteattr(f"{item.section}/{item.topic}")
    feedback_outcome = feedback = ""
    if item.explanation is not None:
        # The pembahasan as the item's modal feedback (what importing reads it from).
        feedback_outcome = (
            '  <qti-outcome-declaration identifier="FEEDBACK" cardinality="single"'
            ' base-type="identifier"/>\n'
        )
        feedback = (
            '  <qti-modal-feedback outcome-identifier="FEEDBACK" identifier="explanation"'
            f' show-hide="show">{to_xhtml(item.explanation)}</qti-modal-feedback>\n'
        )
    # No whitespace inside the body or the choices: it would become part of the item's text.
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<qti-assessment-item xmlns="{QTI3_NAMESPACE}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{QTI3_NAMESPACE} {QTI3_SCHEMA}"'
        f" identifier={quoteattr(item.code)} title={quoteattr(item.code)} label={label}"
        ' adaptive="false" time-dependent="false">\n'
        '  <qti-response-declaration identifier="RESPONSE" cardinality="single"'
        f' base-type="identifier">{response}</qti-response-declaration>\n'
        '  <qti-outcome-declaration identifier="SCORE" cardinality="single" base-type="float">'
        "<qti-default-value><qti-value>0</qti-value></qti-default-value>"
        "</qti-outcome-declaration>\n"
        f"{feedback_outcome}"
        f"{_stimulus_ref(item, stimulus_href)}"
        f"  <qti-item-body>{to_xhtml(item.stem)}"
        f'<qti-choice-interaction response-identifier="RESPONSE" shuffle="{shuffle}"'
        ' max-choices="1">'
        f"{choices}</qti-choice-interaction></qti-item-body>\n"
        f'  <qti-response-processing template="{TEMPLATE_BASE}{template}.xml"/>\n'
        f"{feedback}"
        "</qti-assessment-item>\n"
    )


def _stimulus_ref(item: Item, href: str | None) -> str:
    if item.stimulus_ref is None:
        return ""
    if href is None:
        raise KeyError(f"no passage file given for item {item.code} ({item.stimulus_ref})")
    return (
        f"  <qti-assessment-stimulus-ref identifier={quoteattr(item.stimulus_ref)}"
        f" href={quoteattr(href)}/>\n"
    )


def stimulus_to_qti(stimulus: Stimulus) -> str:
    """A passage as a QTI 3.0 ``qti-assessment-stimulus`` document."""
    title = quoteattr(stimulus.title or stimulus.code)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<qti-assessment-stimulus xmlns="{QTI3_NAMESPACE}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{QTI3_NAMESPACE} {QTI3_SCHEMA}"'
        f" identifier={quoteattr(stimulus.code)} title={title}>\n"
        f"  <qti-stimulus-body>{to_xhtml(stimulus.content)}</qti-stimulus-body>\n"
        "</qti-assessment-stimulus>\n"
    )


def _keyword_block(item: Item) -> str:
    words = {"section": item.section, "topic": item.topic, "status": str(item.status)}
    if item.level is not None:
        words["level"] = str(item.level)
    if item.p_value is not None:
        words["p_value"] = repr(item.p_value)
    if item.irt is not None:
        words |= {"irt_a": repr(item.irt.a), "irt_b": repr(item.irt.b), "irt_c": repr(item.irt.c)}
    keywords = "".join(
        f"<imsmd:keyword><imsmd:string>{xml_escape(f'{k}:{v}')}</imsmd:string></imsmd:keyword>"
        for k, v in words.items()
    )
    return f"<metadata><imsmd:lom><imsmd:general>{keywords}</imsmd:general></imsmd:lom></metadata>"


def _write_stimulus(
    archive: zipfile.ZipFile, layout: MediaLayout, stimulus: Stimulus, resources: list[str]
) -> str:
    folder = "stimuli/"
    if not layout.fits_media(folder, stimulus.media):
        folder = f"stimuli/{stimulus.code}/"
    layout.claim_media(folder, stimulus.media)
    path = f"{folder}{stimulus.code}.xml"
    archive.writestr(path, stimulus_to_qti(stimulus).encode("utf-8"))
    files = "".join(f"<file href={quoteattr(folder + m.name)}/>" for m in stimulus.media)
    resources.append(
        f"<resource identifier={quoteattr('stimulus-' + stimulus.code)}"
        f' type="imsqti_stimulus_xmlv3p0" href={quoteattr(path)}>'
        f"<file href={quoteattr(path)}/>{files}</resource>"
    )
    return path


def write_qti_package(
    items: Iterable[Item],
    media: Mapping[str, bytes],
    out: IO[bytes],
    stimuli: Mapping[str, Stimulus] | None = None,
) -> int:
    """Write items as a QTI 3.0 content package (ZIP with ``imsmanifest.xml``).

    Parameters
    ----------
    items
        The items.
    media
        Image bytes by SHA-256 (hex), for every image the items use.
    out
        A binary stream for the ZIP.
    stimuli
        The passages items refer to, by code: each is written once, as
        ``stimuli/<code>.xml`` (``qti-assessment-stimulus``), with its images beside it.

    Returns
    -------
    int
        How many image files the package holds.

    Raises
    ------
    KeyError
        When ``media`` lacks the bytes of an image an item uses, or ``stimuli`` a passage.

    Notes
    -----
    Each item is ``items/<code>.xml``, its images beside it under the names the item uses
    (an item whose image name is taken by a different image gets a folder ``items/<code>/``).
    Section, topic, level, p-value, IRT parameters and status are manifest keywords
    (``section:TWK``); section and topic are also the item's ``label`` (``TWK/topic``).
    """
    layout = MediaLayout()
    resources: list[str] = []
    written: dict[str, str] = {}  # passage code -> its file in the package
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            folder = "items/" if layout.fits("items/", item) else f"items/{item.code}/"
            layout.claim(folder, item)
            path = f"{folder}{item.code}.xml"
            href: str | None = None
            dependency = ""
            if item.stimulus_ref is not None:
                stimulus = (stimuli or {})[item.stimulus_ref]
                if stimulus.code not in written:
                    written[stimulus.code] = _write_stimulus(archive, layout, stimulus, resources)
                href = posixpath.relpath(written[stimulus.code], posixpath.dirname(path))
                dependency = f"<dependency identifierref={quoteattr('stimulus-' + stimulus.code)}/>"
            archive.writestr(path, item_to_qti(item, href).encode("utf-8"))
            files = "".join(f"<file href={quoteattr(folder + m.name)}/>" for m in item.media)
            resources.append(
                f"<resource identifier={quoteattr('item-' + item.code)}"
                f' type="imsqti_item_xmlv3p0" href={quoteattr(path)}>'
                f"{_keyword_block(item)}<file href={quoteattr(path)}/>{files}{dependency}"
                "</resource>"
            )
        image_files = layout.write_media(archive, media)
        manifest = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<manifest xmlns="{CP3_NAMESPACE}" xmlns:imsmd="{LOM_NAMESPACE}"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            f' xsi:schemaLocation="{CP3_NAMESPACE} {CP3_SCHEMA}" identifier="{EXPORT_IDENTITY}">\n'
            "<metadata><schema>QTI Package</schema>"
            "<schemaversion>3.0.0</schemaversion></metadata>\n"
            "<organizations/>\n<resources>\n"
            + "\n".join(resources)
            + "\n</resources>\n</manifest>\n"
        )
        archive.writestr(MANIFEST, manifest.encode("utf-8"))
    return image_files
