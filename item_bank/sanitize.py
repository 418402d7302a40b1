"""Reduce item text (stems and options) to a safe HTML subset that every bank format shares.

The subset is what a test question needs and nothing a browser could run: paragraphs, line
breaks, emphasis, sub/superscripts, lists, tables, spans, images of the item's own media and
formulas in MathML Core (the MathML browsers render without a script or a CDN). Scripts, event
handlers, style attributes, frames, forms and links are removed. The work is done by `nh3` (the
Ammonia sanitizer, which parses like a browser does, MathML included), configured once here.

Promises the import and export paths rely on:

- **Idempotent**: ``sanitize_html(sanitize_html(x)) == sanitize_html(x)``, so an exported bank
  imports to the same content hashes.
- **Plain text stays readable**: a text with no HTML tag and no character reference (what a
  spreadsheet cell usually holds) is taken literally, so ``"x<y & y>z"`` shows as written.
- **One whitespace form**: runs of spaces, tabs and line breaks become one space, and none is
  kept where a browser shows none (around paragraphs, list items, table cells and inside
  formulas). However a source indents its markup, the same text gives the same content hash.
- **Nothing lost unsaid**: `removals` lists what sanitizing would remove from a text, each with
  why and whether a candidate would miss it; imports refuse an item instead of losing part of
  it (see `item_bank.validation`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from types import MappingProxyType

import nh3

#: Elements kept; everything else is removed (its text stays, except for `REMOVED_WITH_CONTENT`).
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "b", "strong", "i", "em", "u", "sub", "sup", "ul", "ol", "li",
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "span", "img",
    }
)  # fmt: skip

#: Attributes kept, per element. ``img src`` must also be a plain relative media name.
ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "img": frozenset({"src", "alt", "width", "height"}),
        "td": frozenset({"colspan", "rowspan"}),
        "th": frozenset({"colspan", "rowspan"}),
    }
)

#: MathML Core elements kept inside ``<math>`` (https://www.w3.org/TR/mathml-core/): what
#: Chromium and Firefox render natively. ``annotation-xml`` is not among them: browsers never
#: show it, and it is where HTML could hide inside a formula.
MATHML_TAGS: frozenset[str] = frozenset(
    {
        "math", "maction", "annotation", "merror", "mfrac", "mi", "mmultiscripts", "mn", "mo",
        "mover", "mpadded", "mphantom", "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt",
        "mstyle", "msub", "msubsup", "msup", "mtable", "mtd", "mtext", "mtr", "munder",
        "munderover", "none", "semantics",
    }
)  # fmt: skip

# Attributes every MathML Core element takes, then each element's own.
_MATHML_GLOBAL = frozenset(
    {"dir", "displaystyle", "mathbackground", "mathcolor", "mathsize", "mathvariant", "scriptlevel"}
)
_MATHML_OWN: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "math": frozenset({"display", "alttext"}),
        "maction": frozenset({"actiontype", "selection"}),
        "annotation": frozenset({"encoding"}),
        "mfrac": frozenset({"linethickness"}),
        "mo": frozenset(
            {
                "form", "fence", "separator", "lspace", "rspace", "stretchy", "symmetric",
                "maxsize", "minsize", "largeop", "movablelimits",
            }
        ),
        "mover": frozenset({"accent"}),
        "munder": frozenset({"accentunder"}),
        "munderover": frozenset({"accent", "accentunder"}),
        "mpadded": frozenset({"width", "height", "depth", "lspace", "voffset"}),
        "mspace": frozenset({"width", "height", "depth"}),
        "mtd": frozenset({"columnspan", "rowspan"}),
    }
)  # fmt: skip
#: Attributes kept on MathML elements; values must be plain words, numbers or lengths.
MATHML_ATTRIBUTES: Mapping[str, frozenset[str]] = MappingProxyType(
    {tag: _MATHML_GLOBAL | _MATHML_OWN.get(tag, frozenset()) for tag in MATHML_TAGS}
)

#: Elements removed together with everything inside them (code, embedded documents, SVG, and
#: the MathML annotations browsers never show).
REMOVED_WITH_CONTENT: frozenset[str] = frozenset(
    {
        "script", "style", "template", "iframe", "object", "noscript", "noembed", "noframes",
        "xmp", "svg", "title", "annotation-xml",
    }
)  # fmt: skip

# Characters that may not appear in a media name: URL syntax that could leave the package
# (scheme, query, fragment, escapes) and anything that needs quoting in HTML or XML.
_FORBIDDEN_NAME_CHARS = frozenset(":\\?#\"'<>`&") | frozenset(chr(c) for c in range(0x20))
_MAX_MEDIA_NAME = 255
_DIMENSION = re.compile(r"[0-9]{1,4}")
# A MathML attribute value: a word, a number or a length ("bold", "0.2em", "-1", "#c00").
# No parentheses or colons, so no url(), expression() or scheme can ride along.
_MATH_VALUE = re.compile(r"[A-Za-z0-9#.%+-]{1,40}")

# Every HTML element name a browser knows; a text counts as HTML only when one of them appears as
# a complete tag, so that "x<y and y>z" in a spreadsheet cell stays literal text.
_HTML_ELEMENTS = (
    "a|abbr|address|area|article|aside|audio|b|base|bdi|bdo|big|blink|blockquote|body|br|button|"
    "canvas|caption|center|cite|code|col|colgroup|data|datalist|dd|del|details|dfn|dialog|dir|div|"
    "dl|dt|em|embed|fieldset|figcaption|figure|font|footer|form|frame|frameset|h[1-6]|head|header|"
    "hgroup|hr|html|i|iframe|image|img|input|ins|isindex|kbd|keygen|label|legend|li|link|listing|"
    "main|map|mark|marquee|math|menu|meta|meter|nav|nobr|noembed|noframes|noscript|object|ol|"
    "optgroup|option|output|p|param|picture|plaintext|pre|progress|q|rb|rp|rt|rtc|ruby|s|samp|"
    "script|search|section|select|slot|small|source|span|strike|strong|style|sub|summary|sup|svg|"
    "table|tbody|td|template|textarea|tfoot|th|thead|time|title|tr|track|tt|u|ul|var|video|wbr|xmp"
)
_LOOKS_LIKE_HTML = re.compile(
    rf"</?(?:{_HTML_ELEMENTS})(?:[\s/][^<>]*)?>|<!--|<!\[CDATA\[|<!doctype"
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});",
    re.IGNORECASE,
)
# Control characters other than tab and newline (invisible, and illegal in the XML of a QTI
# export) and lone surrogates (a JSON "\ud800" escape; no encoder accepts them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Text without any of these comes out of the sanitizer as it went in (but for surrounding
# whitespace): the common case of a plain-text cell skips the HTML parser.
_NEEDS_PARSING = re.compile(r"[<>&\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f\xa0\ufeff\ud800-\udfff]")
# The sanitizer's own output quotes every attribute with double quotes, so these patterns only
# ever run over text whose shape is known.
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_SRC_ATTR = re.compile(r'\ssrc="([^"]*)"')
_TAG = re.compile(r"<[^>]*>")


def is_safe_media_name(name: str) -> bool:
    """Whether ``name`` is a plain relative file name an item may use for its media.

    Parameters
    ----------
    name
        A name as it appears in an ``img src`` or an item's media list.

    Returns
    -------
    bool
        ``True`` for names such as ``media/fig-1.svg`` or ``images/sign.png``; ``False`` for URLs
        with a scheme (``http:``, ``javascript:``, ``data:``), protocol-relative and absolute
        paths, ``..`` segments, backslashes, queries, fragments and control characters.
    """
    if not name or len(name) > _MAX_MEDIA_NAME or name != name.strip():
        return False
    if name.startswith("/") or any(ch in _FORBIDDEN_NAME_CHARS for ch in name):
        return False
    return all(segment and segment != ".." for segment in name.split("/"))


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    # Called by nh3 for each allow-listed attribute; it must never raise (nh3 would only log it).
    if element in MATHML_TAGS:
        if attribute in {"alttext", "encoding"}:
            return value
        return value if _MATH_VALUE.fullmatch(value.strip()) else None
    if attribute == "src":
        return value if is_safe_media_name(value) else None
    if attribute in {"width", "height", "colspan", "rowspan"}:
        return value if _DIMENSION.fullmatch(value.strip()) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS | MATHML_TAGS),
    clean_content_tags=set(REMOVED_WITH_CONTENT),
    attributes={
        tag: set(names) for tag, names in (*ALLOWED_ATTRIBUTES.items(), *MATHML_ATTRIBUTES.items())
    },
    attribute_filter=_keep_attribute,
    strip_comments=True,
    link_rel=None,
    url_schemes=set(),
)


def _drop_images_without_source(clean: str) -> str:
    # An <img> whose src was refused is left bare by nh3; a bare image shows a broken icon.
    return _IMG_TAG.sub(lambda m: m.group(0) if _SRC_ATTR.search(m.group(0)) else "", clean)


def sanitize_html(text: str) -> str:
    """Reduce item text to the safe HTML subset.

    Parameters
    ----------
    text
        A stem or option text as a bank file gives it: HTML, or plain text.

    Returns
    -------
    str
        HTML with only `ALLOWED_TAGS` and `ALLOWED_ATTRIBUTES` (and MathML Core inside
        ``<math>``); images only with a plain relative ``src`` (see `is_safe_media_name`);
        whitespace in one form (see `normalize_whitespace`). Plain text (no HTML tag, comment or
        character reference in it) comes back with ``<``, ``>`` and ``&`` escaped and its line
        breaks as ``<br>``, so it reads as written. The function is idempotent.
    """
    if "\n" not in text and not _NEEDS_PARSING.search(text):
        return normalize_whitespace(text)
    return _parse_and_clean(text)


# A line break typed in plain text (a spreadsheet cell's Alt+Enter), with the spaces around it.
_PLAIN_LINE_BREAK = re.compile(r"[ \t\f]*(?:\r\n|\r|\n)[ \t\f]*")


def _parse_and_clean(text: str) -> str:
    text = _CONTROL.sub("", text)
    if not _LOOKS_LIKE_HTML.search(text):
        # Plain text: shown as written, its line breaks too (HTML would fold them into spaces).
        text = _PLAIN_LINE_BREAK.sub("<br>", html.escape(text.strip(), quote=False))
    clean = _CLEANER.clean(text)
    if "<img" in clean:
        clean = _drop_images_without_source(clean)
    return normalize_whitespace(clean)


# Runs of the whitespace HTML collapses when it renders (not the no-break space).
_WHITESPACE_RUN = re.compile(r"[ \t\n\r\f]+")
# Tags around which a browser shows no space: block boundaries, and every MathML element inside a
# formula (a space next to <math> itself is a space in the sentence and stays).
_NO_SPACE_AROUND = re.compile(
    r" ?(</?(?:p|br|ul|ol|li|table|caption|thead|tbody|tfoot|tr|th|td|"
    + "|".join(sorted(MATHML_TAGS - {"math"}))
    + r")(?:\s[^>]*)?>) ?"
)
_MATH_INSIDE_EDGES = re.compile(r"(<math(?:\s[^>]*)?>) | (</math>)")


def normalize_whitespace(text: str) -> str:
    """Whitespace of sanitized text in its one stored form.

    Every run of spaces, tabs and line breaks becomes one space; spaces next to block tags
    (paragraphs, list items, table cells, line breaks) and between the parts of a formula go,
    as do leading and trailing ones. A browser renders the text exactly as before, and the same
    text indented differently by two tools is stored, and hashed, the same. Idempotent.
    """
    text = _WHITESPACE_RUN.sub(" ", text)
    if "<" in text:
        text = _NO_SPACE_AROUND.sub(r"\1", text)
        if "<math" in text:
            text = _MATH_INSIDE_EDGES.sub(r"\1\2", text)
    return text.strip()


@dataclass(frozen=True, slots=True)
class Removal:
    """Something `sanitize_html` would remove from a text, and why.

    ``path`` places it in the text (``p[2]/script``, ``math/mfenced``, ``img/@src``); ``lossy``
    says a candidate would miss it (content, an image, a formula, code an author meant to run),
    as opposed to presentation only (a ``class``, a ``div`` whose text stays, a comment).
    """

    path: str
    what: str
    why: str
    lossy: bool

    def __str__(self) -> str:
        return f"{self.path}: {self.what} {self.why}"


#: HTML elements that are removed while their text stays, and whose loss changes only the look
#: (layout containers, links an exam would not follow, fonts, headings).
UNWRAPPED_ELEMENTS: frozenset[str] = frozenset(
    {
        "div", "a", "font", "center", "section", "article", "header", "footer", "main", "aside",
        "nav", "figure", "figcaption", "blockquote", "small", "big", "abbr", "acronym", "cite",
        "dfn", "q", "label", "bdi", "bdo", "time", "data", "code", "kbd", "samp", "var", "tt",
        "h1", "h2", "h3", "h4", "h5", "h6", "colgroup", "col", "dl",
        "dt", "dd", "hr", "wbr", "nobr", "address", "html", "body", "head", "meta", "link",
        "hgroup", "summary", "details", "picture", "rb", "rp", "rt", "rtc", "ruby",
    }
)  # fmt: skip
#: Attributes that carry presentation or bookkeeping only; removing them changes no content.
PRESENTATION_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "class", "id", "style", "lang", "xml:lang", "title", "dir", "align", "valign", "border",
        "cellpadding", "cellspacing", "bgcolor", "color", "face", "size", "width", "height",
        "role", "xmlns", "xmlns:m", "xmlns:xlink", "summary", "scope", "headers", "type",
        "start", "name", "target", "rel", "longdesc", "tabindex", "translate", "hidden",
        "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines",
        "frame", "framespacing", "equalrows", "equalcolumns", "fontstyle", "fontweight",
        "fontfamily", "fontsize", "background", "href", "encoding", "definitionurl",
    }
)  # fmt: skip
_CODE = "code never runs in an item"
_VOID_HTML = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr"}
)  # fmt: skip
_TOKEN_ELEMENTS = frozenset({"mi", "mn", "mo", "ms", "mtext"})
_BAD_URL = re.compile(r"^\s*(?:javascript|vbscript|data|file):", re.IGNORECASE)


def judge_element(name: str, *, in_math: bool) -> tuple[str, str, bool] | None:
    """Whether the element ``name`` is kept by `sanitize_html`, and if not, what is lost.

    Parameters
    ----------
    name
        The element's local name, lower case (``"p"``, ``"mfrac"``, ``"video"``).
    in_math
        Whether it stands inside a ``<math>`` element.

    Returns
    -------
    tuple[str, str, bool] | None
        ``None`` when it is kept; else what is removed, why, and whether that is lossy (see
        `Removal`).
    """
    if in_math:
        if name in MATHML_TAGS:
            return None
        if name == "annotation-xml":
            return "<annotation-xml>", "is removed: browsers never show it", False
        if name == "mfenced":
            return (
                "<mfenced>",
                "is not MathML Core and browsers do not render its fences:"
                " write <mrow><mo>(</mo> ... <mo>)</mo></mrow>",
                True,
            )
        return f"<{name}>", "is not an element of MathML Core, which browsers render", True
    if name in ALLOWED_TAGS or name == "math":
        return None
    if name in {"script", "noscript", "template"}:
        return f"{name} element with its content", f"would be removed: {_CODE}", True
    if name in {"style", "link"}:
        return f"<{name}>", "would be removed: style sheets are not kept", False
    if name in {"video", "audio", "source", "track"}:
        return (
            f"<{name}>",
            "is not supported: video and audio cannot be stored, played offline and exported",
            True,
        )
    if name in {"iframe", "frame", "frameset", "object", "embed", "applet", "portal"}:
        return (
            f"<{name}> with its content",
            "is not supported: embedded documents are not shown to candidates",
            True,
        )
    if name == "svg":
        return (
            "inline <svg>",
            "is not supported: save the drawing as an .svg file and show it with <img>",
            True,
        )
    if name in {"canvas", "input", "button", "select", "textarea", "option", "optgroup", "form"}:
        return f"<{name}>", "is not supported: interactive controls are not part of a text", True
    if name in {"s", "strike", "del", "ins", "mark"}:
        return (
            f"<{name}>",
            "is not supported: its text would stay but lose its marking (struck through,"
            " inserted or highlighted), which a question may depend on",
            True,
        )
    if name in {"pre", "listing", "plaintext"}:
        return (
            f"<{name}>",
            "is not supported: its line breaks and spacing (code, poems, aligned text) would be"
            " lost; write the lines as paragraphs or <br>",
            True,
        )
    if name in UNWRAPPED_ELEMENTS:
        return f"<{name}>", "would be removed (its text stays; only its formatting goes)", False
    if name in {"math:math", "m:math"} or name.endswith(":math"):
        return f"<{name}>", "is MathML with a prefix the text does not declare", True
    return f"<{name}>", "is an element the engine cannot show: it would be removed", True


def judge_attribute(
    element: str, name: str, value: str, *, in_math: bool
) -> tuple[str, str, bool] | None:
    """Whether attribute ``name="value"`` of ``element`` is kept, and if not, what is lost.

    Returns ``None`` when `sanitize_html` keeps it, else what, why and whether it is lossy.
    Event handlers and script URLs are lossy (an author meant code to run); an image ``src``
    outside the package is lossy (the image would go); presentation is not.
    """
    shown = f"{name}={value[:40]!r}"
    if name.startswith("on"):
        return "an event-handler attribute (on...)", f"would be removed: {_CODE}", True
    if _BAD_URL.match(value) and name in {"href", "src", "data", "action", "xlink:href"}:
        return f"{name} with a script or data URL", f"would be removed: {_CODE}", True
    if in_math:
        if name in MATHML_ATTRIBUTES.get(element, frozenset()):
            if name in {"alttext", "encoding"} or _MATH_VALUE.fullmatch(value.strip()):
                return None
            return shown, "would be removed: not a plain MathML value", False
        if name == "href":
            return shown, "would be removed: links in formulas are not followed", True
        return shown, "would be removed (presentation only)", False
    if element == "img" and name == "src":
        if is_safe_media_name(value):
            return None
        return (
            f"image source {value[:80]!r}",
            "is not supported: an image must be a file of the package named by a relative path"
            " (no scheme, no leading '/', no '..', no '?' or '#')",
            True,
        )
    allowed = ALLOWED_ATTRIBUTES.get(element, frozenset())
    if name in allowed:
        if name in {"width", "height", "colspan", "rowspan"} and not _DIMENSION.fullmatch(
            value.strip()
        ):
            return shown, "would be removed: only whole numbers are kept", False
        return None
    return shown, "would be removed (presentation only)", False


class _Inspector(HTMLParser):
    """Walks a text as `sanitize_html` would read it, noting each removal with its path."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Removal] = []
        self._stack: list[tuple[str, str, bool]] = []  # (name, path, in math)
        self._counts: list[dict[str, int]] = [{}]
        self._skip = 0  # depth inside an element removed with its content

    def _path(self, name: str) -> str:
        counts = self._counts[-1]
        counts[name] = counts.get(name, 0) + 1
        step = name if counts[name] == 1 else f"{name}[{counts[name]}]"
        return f"{self._stack[-1][1]}/{step}" if self._stack else step

    def _start(self, name: str, attrs: list[tuple[str, str | None]], void: bool) -> None:
        if self._skip:
            if not void:
                self._skip += 1
                self._stack.append((name, "", False))
                self._counts.append({})
            return
        path = self._path(name)
        parent_math = bool(self._stack) and self._stack[-1][2]
        html_inside_math = parent_math and self._stack[-1][0] in _TOKEN_ELEMENTS
        in_math = parent_math and not html_inside_math
        verdict = judge_element(name, in_math=in_math)
        removed_with_content = False
        if verdict is not None:
            what, why, lossy = verdict
            self.found.append(Removal(path, what, why, lossy))
            removed_with_content = name in REMOVED_WITH_CONTENT or name in {
                "video", "audio", "canvas", "select", "textarea", "button", "applet", "frameset",
            }  # fmt: skip
        if name == "img" and not any(attribute == "src" for attribute, _ in attrs):
            self.found.append(Removal(path, "<img> without src", "would show nothing", True))
        if not removed_with_content:
            inside = in_math or name == "math"
            for attribute, value in attrs:
                judged = judge_attribute(name, attribute, value or "", in_math=inside)
                if judged is not None:
                    what, why, lossy = judged
                    # An event handler is placed at its element: its name is the payload's.
                    at = path if attribute.startswith("on") else f"{path}/@{attribute}"
                    self.found.append(Removal(at, what, why, lossy))
        if void:
            return
        if removed_with_content:
            self._skip = 1
        self._stack.append((name, path, in_math or name == "math"))
        self._counts.append({})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, tag in _VOID_HTML and not (self._stack and self._stack[-1][2]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, True)

    def handle_endtag(self, tag: str) -> None:
        names = [entry[0] for entry in self._stack]
        if tag not in names:
            return
        while self._stack:
            name = self._stack.pop()[0]
            self._counts.pop()
            if self._skip:
                self._skip -= 1
            if name == tag:
                break


def removals(text: str) -> list[Removal]:
    """What `sanitize_html` would remove from ``text``, in document order.

    Parameters
    ----------
    text
        A stem or option text as a bank file gives it.

    Returns
    -------
    list[Removal]
        Each element or attribute that would go, with its path in the text and why; an empty
        list for plain text and for HTML already within the subset. Comments, whitespace and
        invisible control characters are not listed (nobody sees them).
    """
    if "<" not in text or not _LOOKS_LIKE_HTML.search(text):
        return []
    inspector = _Inspector()
    inspector.feed(_CONTROL.sub("", text))
    inspector.close()
    return inspector.found


def image_sources(clean: str) -> list[str]:
    """The ``src`` of every image in sanitized HTML, in order of appearance, without repeats.

    Parameters
    ----------
    clean
        Output of `sanitize_html`.

    Returns
    -------
    list[str]
        Media names as the text refers to them (HTML character references decoded).
    """
    if "<img" not in clean:
        return []
    names: dict[str, None] = {}
    for tag in _IMG_TAG.findall(clean):
        match = _SRC_ATTR.search(tag)
        if match:
            names[html.unescape(match.group(1))] = None
    return list(names)


def remove_images(clean: str, names: Collection[str]) -> str:
    """Remove from sanitized HTML every image whose ``src`` is one of ``names``.

    Parameters
    ----------
    clean
        Output of `sanitize_html`.
    names
        Media names (as `image_sources` returns them) whose images go.

    Returns
    -------
    str
        The text without those images; still a fixed point of `sanitize_html`.
    """

    def keep(match: re.Match[str]) -> str:
        src = _SRC_ATTR.search(match.group(0))
        return "" if src and html.unescape(src.group(1)) in names else match.group(0)

    return sanitize_html(_IMG_TAG.sub(keep, clean))


def is_blank(clean: str) -> bool:
    """Whether sanitized HTML shows nothing: no visible text and no image.

    Parameters
    ----------
    clean
        Output of `sanitize_html`.

    Returns
    -------
    bool
        ``True`` for ``""``, ``"<p> </p>"`` or ``"<br>"``; ``False`` when any character or
        image would be shown.
    """
    if "<img" in clean:
        return False
    if "<" not in clean and "&" not in clean:
        return not clean.strip()
    visible = html.unescape(_TAG.sub("", clean))
    return not visible.strip()
