"""User-facing text of the web pages: one catalogue (a JSON file per language with the same
keys), the page's language from ``?lang=`` (remembered in a cookie) and the translator."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANGUAGE_COOKIE = "ujian_lang"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str) -> dict[str, str]:
    """Every message of ``language``, by key (read once per process)."""
    path = LOCALES_DIR / f"{language}.json"
    messages: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return messages


def supported(language: str | None) -> str | None:
    """``language`` if the pages speak it (``"EN"`` and ``"en-US"`` count as ``"en"``)."""
    if not language:
        return None
    code = language.strip().lower().split("-")[0]
    return code if code in LANGUAGES else None


def choose_language(query: str | None, cookie: str | None) -> tuple[str, bool]:
    """The page's language and whether to remember it: ``?lang=`` wins, then the cookie,
    then Bahasa Indonesia."""
    asked = supported(query)
    if asked is not None:
        return asked, True
    return supported(cookie) or DEFAULT_LANGUAGE, False


def translate(language: str, key: str, **params: object) -> str:
    """The message ``key`` in ``language`` with ``{name}`` placeholders filled in.

    A key missing from a language falls back to Bahasa Indonesia, then to the key itself, so a
    gap shows up on screen instead of breaking the page (a test keeps the catalogues equal).
    """
    text = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(params[name]) if name in params else match.group(0)

    return _PLACEHOLDER.sub(fill, text)
