"""Writing a bank out: which container a format and its images need, and what was written.

A native JSON file cannot carry images, so a bank with images is written as a native package (a
ZIP with ``bank.json`` and the images); a QTI export is always a content package (a ZIP). The
file name must say so: a ZIP named ``bank.json`` would be opened by every other tool as broken
JSON. `write_export` decides, refuses a misleading name before writing anything, and returns
counts that match what importing the file reports.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from item_bank.formats.native_json import write_json, write_json_package
from item_bank.formats.qti import write_qti_package
from item_bank.models import Item, Stimulus

#: Export formats by the name the CLI and API use.
FORMATS = ("json", "qti")


class ExportRefused(ValueError):
    """The export cannot be written under the name asked for (the message says what to do)."""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote.

    ``container`` is ``json`` (a plain JSON file), ``json-package`` or ``qti-package`` (ZIPs).
    ``images`` counts distinct images (by SHA-256), the figure an import of the same file
    reports when it counts distinct images too; ``image_files`` counts image entries in the
    ZIP, which is larger when items name the same picture differently.
    """

    container: str
    items: int
    images: int
    image_files: int


def export_container(fmt: str, name: str, *, has_images: bool) -> str:
    """The container an export of format ``fmt`` needs, checked against the file ``name``.

    Parameters
    ----------
    fmt
        ``json`` or ``qti``.
    name
        The file name asked for (only its extension matters).
    has_images
        Whether any exported item shows an image.

    Returns
    -------
    str
        ``json``, ``json-package`` (images, or a ``.zip`` name) or ``qti-package``.

    Raises
    ------
    ExportRefused
        For an unknown format, or a name whose extension does not match what is written
        (a ``.json`` name for a bank with images, anything but ``.zip`` for a package).
    """
    extension = posixpath.splitext(name.lower())[1]
    if fmt == "qti":
        container = "qti-package"
    elif fmt == "json":
        # A .zip name gets a package even without images: a ZIP holding bank.json.
        container = "json-package" if has_images or extension == ".zip" else "json"
    else:
        raise ExportRefused(f"unknown export format {fmt!r}: use {' or '.join(FORMATS)}")
    if container == "json" and extension != ".json":
        raise ExportRefused(f"a JSON bank is written as a .json file, not {name!r}")
    if container == "json-package" and extension != ".zip":
        raise ExportRefused(
            f"the bank has images, so the JSON export is a ZIP package (bank.json and its"
            f" images): name it .zip, not {name!r}"
        )
    if container == "qti-package" and extension != ".zip":
        raise ExportRefused(
            f"a QTI export is a content package (a ZIP): name it .zip, not {name!r}"
        )
    return container


def write_export(
    items: Sequence[Item],
    media: Mapping[str, bytes],
    out: IO[bytes],
    *,
    fmt: str,
    name: str,
    stimuli: Mapping[str, Stimulus] | None = None,
) -> ExportSummary:
    """Write ``items`` as ``fmt`` under the file name ``name`` (checked first, see above).

    Parameters
    ----------
    items
        The items to export.
    media
        Image bytes by SHA-256, for every image the items use.
    out
        A binary stream for the file.
    fmt
        ``json`` or ``qti``.
    name
        The file's name, whose extension must match the container.
    stimuli
        The passages items refer to, by code (written with them).

    Returns
    -------
    ExportSummary
        What was written.

    Raises
    ------
    ExportRefused
        Before anything is written, when the name does not fit (see `export_container`).
    """
    passages = stimuli or {}
    distinct = {m.sha256 for item in items for m in item.media} | {
        m.sha256
        for item in items
        if item.stimulus_ref is not None
        for m in passages[item.stimulus_ref].media
    }
    container = export_container(fmt, name, has_images=bool(distinct))
    files = 0
    if container == "qti-package":
        files = write_qti_package(items, media, out, passages)
    elif container == "json-package":
        files = write_json_package(items, media, out, passages)
    else:
        write_json(items, out, passages)
    return ExportSummary(
        container=container, items=len(items), images=len(distinct), image_files=files
    )
