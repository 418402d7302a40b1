"""Signed image links for candidates: an ``<img>`` tag cannot carry a bearer token, so each image
of a candidate's form is linked with a signature bound to that attempt and that image."""

from __future__ import annotations

import re

from app.signing import Signer

_MEDIA_SRC = re.compile(r'src="/api/v1/media/([0-9a-f]{64})"')


def media_signature(secret: bytes, attempt_id: int, sha256: str) -> str:
    """The signature of attempt ``attempt_id``'s link to image ``sha256``."""
    return Signer(secret, "media-link").sign(f"{attempt_id}:{sha256}", length=32)


def media_link_valid(secret: bytes, attempt_id: int, sha256: str, signature: str) -> bool:
    """Whether a candidate's image link was issued by this server."""
    return Signer(secret, "media-link").verify(f"{attempt_id}:{sha256}", signature, length=32)


def sign_media_links(html: str, secret: bytes, attempt_id: int) -> str:
    """Add the attempt's signature to every image link of an item's HTML."""
    if "/api/v1/media/" not in html:
        return html

    def signed(match: re.Match[str]) -> str:
        digest = match.group(1)
        signature = media_signature(secret, attempt_id, digest)
        return f'src="/api/v1/media/{digest}?a={attempt_id}&amp;s={signature}"'

    return _MEDIA_SRC.sub(signed, html)
