"""Item images: judged by their bytes, size-limited, and SVG only when it cannot run code."""

from __future__ import annotations

import hashlib

import pytest

from item_bank.formats.media import MediaFile, inspect_media

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
GIF = b"GIF89a" + b"\x00" * 24
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16
SAFE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    b'<defs><circle id="c" r="4"/></defs><use xlink:href="#c"/>'
    b'<rect style="fill:url(#g)" width="4" height="4"/></svg>'
)


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("a.png", PNG, "image/png"),
        ("a.jpg", JPEG, "image/jpeg"),
        ("a.gif", GIF, "image/gif"),
        ("a.webp", WEBP, "image/webp"),
        ("a.svg", SAFE_SVG, "image/svg+xml"),
        # The bytes decide, not the name: a JPEG saved as .png is served as what it is.
        ("foto.png", JPEG, "image/jpeg"),
        ("gambar", SAFE_SVG, "image/svg+xml"),
    ],
)
def test_supported_images(name: str, data: bytes, content_type: str) -> None:
    found = inspect_media(name, data, 2**20)
    assert isinstance(found, MediaFile)
    assert found.content_type == content_type
    assert found.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.png", b"<html><script>alert(1)</script></html>"),
        ("a.bmp", b"BM" + b"\x00" * 30),
        ("a.pdf", b"%PDF-1.7"),
    ],
)
def test_other_content_is_refused_whatever_its_name(name: str, data: bytes) -> None:
    assert inspect_media(name, data, 2**20) == (
        "not a supported image (PNG, JPEG, GIF, WebP or SVG), judged by its content"
    )


def svg(body: str, root: str = "") -> bytes:
    return f'<svg xmlns="http://www.w3.org/2000/svg"{root}>{body}</svg>'.encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (svg("<script>alert(1)</script>"), "SVG contains a <script> element, which could run code"),
        (svg("", ' onload="alert(1)"'), "SVG has an event handler attribute (onload)"),
        (svg('<rect onmouseover="x()"/>'), "SVG has an event handler attribute (onmouseover)"),
        (svg("<foreignObject><p>x</p></foreignObject>"), "SVG contains a <foreignobject> element"),
        (svg('<image href="https://evil.example/p.png"/>'), "SVG refers to something outside"),
        (
            svg('<a xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="javascript:alert(1)"/>'),
            "SVG refers to something outside",
        ),
        (svg('<use href="other.svg#x"/>'), "SVG refers to something outside"),
        (svg("<style>@import url(https://evil.example/x.css);</style>"), "SVG style refers"),
        (svg('<rect style="fill:url(https://evil.example/x)"/>'), "SVG style refers"),
        (svg('<set attributeName="href" to="javascript:alert(1)"/>'), "SVG animates a link"),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + svg("<text>&x;</text>"),
            "SVG with a DTD or entity declarations is refused",
        ),
        (b"<svg><unclosed></svg>", "not a well-formed SVG image"),
        (b'<html xmlns="http://www.w3.org/1999/xhtml"/>', "not an SVG image"),
    ],
)
def test_svg_that_could_run_code_or_fetch_is_refused(data: bytes, reason: str) -> None:
    found = inspect_media("figure.svg", data, 2**20)
    assert isinstance(found, str)
    assert found.startswith(reason)


def test_size_limit() -> None:
    assert inspect_media("a.png", PNG + b"\x00" * 2**20, 2**20) == (
        "image is larger than the limit of 1 MiB"
    )
