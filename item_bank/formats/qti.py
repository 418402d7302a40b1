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
from item_bank.formats.safezip import SafeZip
from item_bank.models import OPTION_LABELS, Item, ScoringKind
from item_bank.validation import MediaResolver, RawItem, RawOption, Rules, parse_number

MANIFEST = "imsmanifest.xml"
QTI3_NAMESPACE = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
QTI3_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
CP3_NAMESPACE = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
CP3_SCHEMA = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd"
LOM_NAMESPACE = "http://ltsc.ieee.org/xsd/LOM"
TEMPLATE_BASE = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/"

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
# Body elements that are not question text: feedback, scorer-only rubrics, style sheets.
_NOT_TEXT = frozenset(
    {
        "feedbackInline", "feedbackBlock", "modalFeedback", "rubricBlock", "templateBlock",
        "templateInline", "stylesheet", "printedVariable", "catalogInfo", "companionMaterialsInfo",
    }
)  # fmt: skip
# Elements that inline response processing of the two standard templates is made of.
_TEMPLATE_PARTS = frozenset(
    {
        "responseProcessing", "responseCondition", "responseIf", "responseElse", "match",
        "variable", "correct", "setOutcomeValue", "baseValue", "isNull", "mapResponse",
    }
)  # fmt: skip
_LABEL = re.compile(r"\s*([A-Za-z0-9_-]{1,32})\s*/\s*(\S.*?)\s*$")
_KEYWORD = re.compile(r"\s*([A-Za-z_]+)\s*[:=]\s*(.*?)\s*$")


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
            element.tag = _neutral(element.tag)
            if element.attrib:
                attributes = {_neutral(k): v for k, v in element.attrib.items()}
                element.attrib.clear()
                element.attrib.update(attributes)
        return cls(root=root, paths=paths, version=version)


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

    def __init__(self, tree: _Tree) -> None:
        self.tree = tree
        self.images: dict[str, str] = {}

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
        if tag in _NOT_TEXT or tag.endswith("Interaction"):
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


def _template_kind(processing: Element | None, declaration: Element) -> str | None:
    """``match_correct``, ``map_response``, or ``None`` when the processing is neither."""
    if processing is None:
        if _child(declaration, "mapping") is not None:
            return "map_response"
        return "match_correct"
    template = processing.get("template") or processing.get("templateLocation") or ""
    if template:
        last = template.rstrip("/").rsplit("/", 1)[-1].removesuffix(".xml")
        return last if last in {"match_correct", "map_response"} else None
    names = {element.tag for element in processing.iter()}
    if not names <= _TEMPLATE_PARTS:
        return None
    if "mapResponse" in names:
        return "map_response"
    if "match" in names and "correct" in names:
        return "match_correct"
    return None


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

    html = _Html(tree)
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
        )
        for identifier, choice in zip(identifiers, choices, strict=True)
    ]

    problems: list[Problem] = []
    processing = _child(root, "responseProcessing")
    kind = _template_kind(processing, declaration)
    key: str | None = None
    no_key = "missing key: the responseDeclaration has no correctResponse value"
    if kind is None:
        # Without known scoring nothing else about the item can be judged.
        assert processing is not None
        return None, [
            Problem(
                file,
                paths[processing],
                "template",
                "response processing is not one of the supported templates"
                " (match_correct, map_response)",
            )
        ]
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
    else:
        scoring = "weighted"
        problems = _mapped_points(
            file, tree, declaration, options=options, labels=labels, identifiers=identifiers
        )

    section, topic = _section_and_topic(root, metadata, defaults)
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
        source=_source(root, tree, identifiers, keep_ids),
        fields={"code": "identifier", "key": "correctResponse", "stem": "itemBody"},
        locations={"key": paths[declaration], "stem": paths[body]},
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
    raw, problems = _read_item(tree, file=file, metadata=metadata or {}, defaults=defaults)
    if raw is None:
        yield from problems
        return
    for record in finish(raw, file=file, rules=rules, resolve_media=resolve_media):
        if isinstance(record, ParsedItem) and problems:
            continue
        yield record
    yield from problems


def _resources(archive: SafeZip) -> Iterator[tuple[str, Element]]:
    """Each ``resource`` of the manifest with its element path, streamed.

    A national bank's manifest lists tens of thousands of resources; each is released once
    its item has been read.
    """
    with archive.open(MANIFEST) as stream:
        path: list[str] = []
        holder: Element | None = None
        count = 0
        for event, element in xml_events(stream, what=MANIFEST):
            name = _local(element.tag)
            if event == "start":
                path.append(name)
                if path[1:] == ["resources"]:
                    holder = element
                continue
            if path[1:] == ["resources", "resource"] and holder is not None:
                count += 1
                yield f"{path[0]}/resources/resource[{count}]", element
                holder.clear()
            path.pop()


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
    images, style sheets) are skipped; QTI 1.x resources are refused.
    """
    names = set(archive.names)
    items = 0
    for where, resource in _resources(archive):
        kind = resource.get("type") or ""
        if kind.startswith("imsqti_xmlv1"):
            yield Problem(file, where, "type", "QTI 1.x is not supported: export as QTI 2.1 or 3.0")
            continue
        if not kind.startswith("imsqti_item"):
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
            metadata=_keywords(resource),
        )
    if not items:
        yield Problem(
            file,
            MANIFEST,
            "",
            "the manifest lists no QTI items (resources of type imsqti_item_xmlv2p1, ..._xmlv3p0)",
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


def item_to_qti(item: Item) -> str:
    """One item as a QTI 3.0 ``qti-assessment-item`` document."""
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
    choices = "".join(
        f"<qti-simple-choice identifier={quoteattr(o.label)}>{to_xhtml(o.text)}</qti-simple-choice>"
        for o in item.options
    )
    label = quoteattr(f"{item.section}/{item.topic}")
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
        f"  <qti-item-body>{to_xhtml(item.stem)}"
        '<qti-choice-interaction response-identifier="RESPONSE" shuffle="true" max-choices="1">'
        f"{choices}</qti-choice-interaction></qti-item-body>\n"
        f'  <qti-response-processing template="{TEMPLATE_BASE}{template}.xml"/>\n'
        "</qti-assessment-item>\n"
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


def write_qti_package(items: Iterable[Item], media: Mapping[str, bytes], out: IO[bytes]) -> None:
    """Write items as a QTI 3.0 content package (ZIP with ``imsmanifest.xml``).

    Parameters
    ----------
    items
        The items.
    media
        Image bytes by SHA-256 (hex), for every image the items use.
    out
        A binary stream for the ZIP.

    Raises
    ------
    KeyError
        When ``media`` lacks the bytes of an image an item uses.

    Notes
    -----
    Each item is ``items/<code>.xml``, its images beside it under the names the item uses
    (an item whose image name is taken by a different image gets a folder ``items/<code>/``).
    Section, topic, level, p-value, IRT parameters and status are manifest keywords
    (``section:TWK``); section and topic are also the item's ``label`` (``TWK/topic``).
    """
    layout = MediaLayout()
    resources: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            folder = "items/" if layout.fits("items/", item) else f"items/{item.code}/"
            layout.claim(folder, item)
            path = f"{folder}{item.code}.xml"
            archive.writestr(path, item_to_qti(item).encode("utf-8"))
            files = "".join(f"<file href={quoteattr(folder + m.name)}/>" for m in item.media)
            resources.append(
                f"<resource identifier={quoteattr('item-' + item.code)}"
                f' type="imsqti_item_xmlv3p0" href={quoteattr(path)}>'
                f"{_keyword_block(item)}<file href={quoteattr(path)}/>{files}</resource>"
            )
        layout.write_media(archive, media)
        manifest = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<manifest xmlns="{CP3_NAMESPACE}" xmlns:imsmd="{LOM_NAMESPACE}"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            f' xsi:schemaLocation="{CP3_NAMESPACE} {CP3_SCHEMA}" identifier="ujian-bank-export">\n'
            "<metadata><schema>QTI Package</schema>"
            "<schemaversion>3.0.0</schemaversion></metadata>\n"
            "<organizations/>\n<resources>\n"
            + "\n".join(resources)
            + "\n</resources>\n</manifest>\n"
        )
        archive.writestr(MANIFEST, manifest.encode("utf-8"))
