"""Reduce item text (stems and options) to a safe HTML subset that every bank format shares.

The subset is what a test question needs and nothing a browser could run: paragraphs, line
breaks, emphasis, sub/superscripts, lists, tables, spans and images of the item's own media.
Scripts, event handlers, style attributes, frames, forms and links are removed. The work is done
by `nh3` (the Ammonia sanitizer, which parses like a browser does), configured once here.

Two promises the import and export paths rely on:

- **Idempotent**: ``sanitize_html(sanitize_html(x)) == sanitize_html(x)``, so an exported bank
  imports to the same content hashes.
- **Plain text stays readable**: a text with no HTML tag and no character reference (what a
  spreadsheet cell usually holds) is taken literally, so ``"x<y & y>z"`` shows as written.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from types import MappingProxyType

import nh3

#: Elements kept; everything else is removed (its text stays, except for `REMOVED_WITH_CONTENT`).
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "b", "strong", "i", "em", "u", "sub", "sup", "ul", "ol", "li",
        "table", "thead", "tbody", "tr", "th", "td", "span", "img",
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

#: Elements removed together with everything inside them (code, embedded documents, SVG/MathML).
REMOVED_WITH_CONTENT: frozenset[str] = frozenset(
    {
        "script", "style", "template", "iframe", "object", "noscript", "noembed", "noframes",
        "xmp", "svg", "math", "title",
    }
)  # fmt: skip

# Characters that may not appear in a media name: URL syntax that could leave the package
# (scheme, query, fragment, escapes) and anything that needs quoting in HTML or XML.
_FORBIDDEN_NAME_CHARS = frozenset(":\\?#\"'<>`&") | frozenset(chr(c) for c in range(0x20))
_MAX_MEDIA_NAME = 255
_DIMENSION = re.compile(r"[0-9]{1,4}")

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
    if attribute == "src":
        return value if is_safe_media_name(value) else None
    if attribute in {"width", "height", "colspan", "rowspan"}:
        return value if _DIMENSION.fullmatch(value.strip()) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(REMOVED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
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
        HTML with only `ALLOWED_TAGS` and `ALLOWED_ATTRIBUTES`; images only with a plain relative
        ``src`` (see `is_safe_media_name`); surrounding whitespace removed. Plain text (no HTML
        tag, comment or character reference in it) comes back with ``<``, ``>`` and ``&``
        escaped, so it reads as written. The function is idempotent.
    """
    if not _NEEDS_PARSING.search(text):
        return text.strip()
    return _parse_and_clean(text)


def _parse_and_clean(text: str) -> str:
    text = _CONTROL.sub("", text)
    if not _LOOKS_LIKE_HTML.search(text):
        text = html.escape(text, quote=False)
    clean = _CLEANER.clean(text)
    if "<img" in clean:
        clean = _drop_images_without_source(clean)
    return clean.strip()


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
