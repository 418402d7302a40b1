"""Item images: a known type by their bytes (not their name), size, SVG without code; lookup."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from item_bank.formats.base import Limits, MediaFile, describe_size
from item_bank.models import Media
from item_bank.validation import MediaResolver

#: Image types an item may show, by what their first bytes say.
SUPPORTED_IMAGES = "PNG, JPEG, GIF, WebP or SVG"

# SVG elements that run code or pull in other documents even inside an image.
_SVG_FORBIDDEN_ELEMENTS = frozenset({"script", "foreignobject", "iframe", "embed", "object"})
_SVG_ANIMATIONS = frozenset({"set", "animate", "animatetransform", "animatemotion"})
_CSS_URL = re.compile(r"url\s*\(\s*['\"]?\s*([^)'\"\s]*)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import", re.IGNORECASE)


def sniff_image(data: bytes) -> str | None:
    """The content type the first bytes of a raster image announce, or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _looks_like_svg(name: str, data: bytes) -> bool:
    if name.lower().endswith(".svg"):
        return True
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!--"))


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def svg_problem(data: bytes) -> str | None:
    """Why an SVG may not be shown to candidates, or ``None`` when it is safe.

    Parameters
    ----------
    data
        The SVG document.

    Returns
    -------
    str | None
        A plain message for SVG that is not well-formed XML, declares a DTD or entities, or
        carries script, ``foreignObject``, event-handler (``on*``) attributes, animations that
        rewrite links, or references outside the image itself (``href`` or CSS ``url()`` other
        than ``#fragment``).
    """
    try:
        root: Element = fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        return "SVG with a DTD or entity declarations is refused"
    except (ParseError, ValueError) as error:
        return f"not a well-formed SVG image ({error})"
    if _local(root.tag) != "svg":
        return "not an SVG image (the document's root element is not <svg>)"
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = _local(element.tag)
        if tag in _SVG_FORBIDDEN_ELEMENTS:
            return f"SVG contains a <{tag}> element, which could run code"
        for attribute, value in element.attrib.items():
            name = _local(attribute)
            if name.startswith("on"):
                return f"SVG has an event handler attribute ({name}), which could run code"
            if name == "href" and not value.strip().startswith("#"):
                return f"SVG refers to something outside the image ({value.strip()[:60]!r})"
            if tag in _SVG_ANIMATIONS and name == "attributename" and "href" in value.lower():
                return "SVG animates a link target, which could run code"
            if name == "style" and _css_problem(value):
                return "SVG style refers to something outside the image"
        if tag == "style" and _css_problem("".join(element.itertext())):
            return "SVG style refers to something outside the image"
    return None


def _css_problem(css: str) -> bool:
    if _CSS_IMPORT.search(css):
        return True
    return any(not url.startswith("#") for url in _CSS_URL.findall(css))


def inspect_media(name: str, data: bytes, max_bytes: int) -> MediaFile | str:
    """Check one image file from an upload.

    Parameters
    ----------
    name
        Its path in the upload (for the result; the type is decided by the bytes).
    data
        Its content.
    max_bytes
        Size limit.

    Returns
    -------
    MediaFile | str
        The checked file with its content type and SHA-256, or a plain message saying why it
        is refused (too large, not a supported image, unsafe SVG).
    """
    if len(data) > max_bytes:
        return f"image is larger than the limit of {describe_size(max_bytes)}"
    content_type = sniff_image(data)
    if content_type is None:
        if not _looks_like_svg(name, data):
            return f"not a supported image ({SUPPORTED_IMAGES}), judged by its content"
        problem = svg_problem(data)
        if problem is not None:
            return problem
        content_type = "image/svg+xml"
    return MediaFile(
        name=name, content_type=content_type, data=data, sha256=hashlib.sha256(data).hexdigest()
    )


#: Fetches the bytes stored at a path of the upload (at most ``max_bytes + 1`` of them), or None.
ByteLookup = Callable[[str, int], bytes | None]


class MediaStore:
    """Finds, checks (once each) and remembers the images the items of one file reference."""

    def __init__(self, lookup: ByteLookup | None, limits: Limits) -> None:
        self._lookup = lookup
        self._limits = limits
        self._checked: dict[str, MediaFile | str | None] = {}
        self._used: dict[str, MediaFile] = {}

    def resolver(self, base: str = "") -> MediaResolver:
        """A resolver for names written relative to the folder ``base`` of the upload."""

        def resolve(name: str) -> Media | str | None:
            path = self._path(base, name)
            if path is None:
                return None
            found = self._check(path)
            if found is None and "%" in name:
                # Authoring tools percent-encode names in src ("my%20figure.png").
                decoded = self._path(base, unquote(name))
                found = self._check(decoded) if decoded else None
            if isinstance(found, MediaFile):
                self._used[found.name] = found
                return found.as_media(name)
            return found

        return resolve

    def used(self) -> Mapping[str, MediaFile]:
        """The images resolved so far, by path in the upload."""
        return dict(self._used)

    @staticmethod
    def _path(base: str, name: str) -> str | None:
        path = posixpath.normpath(posixpath.join(base, name))
        if path.startswith(("../", "/")) or path == "..":
            return None
        return path

    def _check(self, path: str) -> MediaFile | str | None:
        if path in self._checked:
            return self._checked[path]
        result: MediaFile | str | None = None
        if self._lookup is not None:
            data = self._lookup(path, self._limits.max_media_bytes)
            if data is not None:
                result = inspect_media(path, data, self._limits.max_media_bytes)
        self._checked[path] = result
        return result
