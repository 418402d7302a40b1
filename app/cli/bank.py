"""``ujian bank``: the item bank (import, export) and its section codes."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from app.cli.common import cli_actor, database, err, out
from app.clock import Clock

group = typer.Typer(help="The item bank.", no_args_is_help=True)
sections = typer.Typer(help="Section codes items may use.", no_args_is_help=True)
group.add_typer(sections, name="sections")

BANK_SUFFIXES = (".json", ".csv", ".xlsx", ".xml", ".zip")


class _CountingReader(io.RawIOBase):
    """A file that reports how many bytes were read (for the progress bar)."""

    def __init__(self, inner: BinaryIO, advance: Callable[[int], None]) -> None:
        super().__init__()
        self._inner = inner
        self._advance = advance

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._inner.seekable()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        self._advance(len(data))
        return len(data)


def _bank_paths(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in BANK_SUFFIXES)
        else:
            found.append(path)
    return found


@group.command("import")
def bank_import(
    paths: Annotated[
        list[Path], typer.Argument(help="bank files (or folders of them)", exists=True)
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="report what would happen; store nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the JSON report")] = False,
    section: Annotated[
        str | None, typer.Option(help="section of QTI items whose metadata names none")
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="topic of QTI items whose metadata names none")
    ] = None,
    new_versions: Annotated[
        bool,
        typer.Option(
            "--new-versions",
            help="make a changed item under an existing code its new version even when its"
            " source does not say it is the same item",
        ),
    ] = False,
) -> None:
    """Import item files all or nothing; exit 1 (nothing imported) on any problem.

    A changed item under a code the bank holds becomes a new version only when it comes from
    this engine's export or the same QTI package and resource, or with ``--new-versions``;
    otherwise the import is refused naming every colliding code.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
    from rich.table import Table

    from app.services import bank

    files = _bank_paths(paths)
    with database(migrated=True) as db:
        handles = [path.open("rb") for path in files]
        total_bytes = sum(path.stat().st_size for path in files)
        progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[items]} items"),
            console=err,
            disable=as_json or total_bytes < 2**20,
            transient=True,
        )
        try:
            with progress:
                task = progress.add_task("import", total=total_bytes, items=0)

                def advance(n: int) -> None:
                    progress.advance(task, n)

                uploads = []
                for path, handle in zip(files, handles, strict=True):
                    base = path.parent

                    def resolver(name: str, base: Path = base) -> bytes | None:
                        target = (base / name).resolve()
                        if base.resolve() not in target.parents or not target.is_file():
                            return None
                        return target.read_bytes()

                    stream = io.BufferedReader(_CountingReader(handle, advance), buffer_size=2**16)
                    uploads.append(bank.UploadFile(path.name, stream, media_resolver=resolver))
                with db.unit_of_work() as session:
                    report = bank.import_files(
                        session,
                        uploads,
                        actor=cli_actor(),
                        now=Clock().now(),
                        dry_run=dry_run,
                        progress=lambda n: progress.update(task, items=n),
                        default_section=section,
                        default_topic=topic,
                        new_versions=new_versions,
                    )
        finally:
            for handle in handles:
                handle.close()
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))  # noqa: T201 - machine output
        raise typer.Exit(0 if report.ok else 1)
    if not report.ok:
        table = Table(
            "file",
            "location",
            "field",
            "problem",
            title=f"{len(report.errors)} problem(s): nothing was imported",
        )
        for problem in report.errors:
            table.add_row(problem.file, problem.location, problem.field, problem.message)
        err.print(table)
        raise typer.Exit(1)
    table = Table(
        "created",
        "new versions",
        "unchanged",
        "images",
        title="dry run: nothing stored" if dry_run else "imported",
    )
    table.add_row(
        str(report.created), str(report.new_versions), str(report.unchanged), str(report.media)
    )
    out.print(table)
    if report.versioned:
        verb = "would become" if dry_run else "became"
        out.print(f"{verb} a new version: {', '.join(report.versioned)}")
    if report.created == report.new_versions == 0 and not dry_run:
        out.print("Nothing changed: every item is identical to its stored version.")


@group.command("export")
def bank_export(
    out_path: Annotated[Path, typer.Option("--out", help="file to write")],
    fmt: Annotated[str, typer.Option("--format", help="json or qti")] = "json",
) -> None:
    """Export the active bank: native JSON (a .zip package when it has images) or a QTI 3.0
    package (.zip); exit 2, writing nothing, when the file name does not fit."""
    from app.services import bank
    from item_bank.formats import ExportRefused, export_container, write_export

    with database() as db, db.unit_of_work(write=False) as session:
        exported = bank.export_bank(session)
    try:
        # Checked before the file is opened: a refused name leaves no empty file behind.
        export_container(fmt, out_path.name, has_images=bool(exported.media))
    except ExportRefused as refused:
        err.print(f"[red]{refused}[/red]")
        raise typer.Exit(2) from None
    with out_path.open("wb") as handle:
        summary = write_export(
            exported.items,
            exported.media,
            handle,
            fmt=fmt,
            name=out_path.name,
            stimuli=exported.stimuli,
        )
    out.print(
        f"exported {summary.items} items ({summary.images} images, {len(exported.stimuli)}"
        f" passages) to {out_path}"
    )


@sections.command("list")
def sections_list() -> None:
    """Section codes items may use."""
    from app.repositories import bank as repo

    with database() as db, db.unit_of_work(write=False) as session:
        for section in repo.sections(session):
            out.print(f"{section.code}\t{section.name}")


@sections.command("add")
def sections_add(code: str, name: str) -> None:
    """Add a section code (adding an existing one changes nothing)."""
    from app.repositories import bank as repo
    from app.services import audit

    with database() as db, db.unit_of_work() as session:
        repo.add_section(session, code, name)
        audit.record(
            session,
            at=Clock().now(),
            actor=cli_actor(),
            action="bank.section_add",
            subject=f"section:{code}",
            payload={"name": name},
        )
    out.print(f"section {code} known")
