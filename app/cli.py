"""The ``ujian`` command line: database, service, demo data, accounts and audit."""

from __future__ import annotations

import getpass
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.console import Console

from app import migrate
from app.db import Database, connect
from app.errors import AppError
from app.models.staff import Role
from app.settings import Settings, get_settings
from scoring.errors import ScoringError as ScoringErrorType

cli = typer.Typer(help="Ujian: Computer Assisted Test engine.", no_args_is_help=True)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
user_cli = typer.Typer(help="Staff accounts.", no_args_is_help=True)
audit_cli = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
bank_cli = typer.Typer(help="The item bank.", no_args_is_help=True)
sections_cli = typer.Typer(help="Section codes items may use.", no_args_is_help=True)
exam_cli = typer.Typer(help="Exams: define and publish.", no_args_is_help=True)
sitting_cli = typer.Typer(help="Sittings (sesi).", no_args_is_help=True)
roster_cli = typer.Typer(help="Candidates of a sitting.", no_args_is_help=True)
rank_cli = typer.Typer(help="Rankings.", no_args_is_help=True)
report_cli = typer.Typer(help="Reports for committees.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(bank_cli, name="bank")
bank_cli.add_typer(sections_cli, name="sections")
cli.add_typer(exam_cli, name="exam")
cli.add_typer(sitting_cli, name="sitting")
cli.add_typer(roster_cli, name="roster")
cli.add_typer(rank_cli, name="rank")
cli.add_typer(report_cli, name="report")

out = Console()
err = Console(stderr=True)


def cli_actor() -> str:
    """How the audit log names whoever runs a command."""
    try:
        return f"cli:{getpass.getuser()}"
    except OSError:
        return "cli:unknown"


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _database() -> Database:
    return connect(_settings())


def require_migrated(db: Database) -> None:
    """Stop with a clear message unless the database is at the newest revision."""
    current, head = migrate.current_revision(db.engine), migrate.head_revision()
    if current != head:
        err.print(
            f"[red]The database is at revision {current or 'none'}, this Ujian needs {head}.[/red] "
            "Run: ujian db upgrade"
        )
        raise typer.Exit(2)


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database named by UJIAN_DATABASE_URL to the newest revision."""
    db = _database()
    migrate.upgrade(db.engine, revision)
    out.print(f"database at revision {migrate.current_revision(db.engine)}")
    db.dispose()


@db_cli.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="target revision, or 'base'")],
) -> None:
    """Migrate down to REVISION (every revision is reversible)."""
    db = _database()
    migrate.downgrade(db.engine, revision)
    out.print(f"database at revision {migrate.current_revision(db.engine) or 'base'}")
    db.dispose()


@db_cli.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one this Ujian ships."""
    db = _database()
    out.print(
        f"current {migrate.current_revision(db.engine) or 'none'}, head {migrate.head_revision()}"
    )
    db.dispose()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Run the service (the database must be migrated: ujian db upgrade)."""
    import uvicorn

    settings = _settings()
    db = connect(settings)
    require_migrated(db)
    db.dispose()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only for display
    out.print(
        f"Ujian is serving on [bold]http://{shown}:{port}[/bold]  "
        f"(candidates: /  proctors: /proctor  API: /docs)"
    )
    uvicorn.run(
        "app.main:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        # Screens save every few seconds and poll while paused: keeping their connections open
        # longer than a typical proxy's 60 s idle timeout spares a TCP handshake per save and
        # a reconnect storm after a room-wide pause.
        timeout_keep_alive=75,
        # A whole site connects in the same seconds at the start of a session: a deeper accept
        # queue than the default 2,048 (the kernel caps it at net.core.somaxconn).
        backlog=4096,
        timeout_graceful_shutdown=5,
    )


@cli.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="print the logins as JSON")] = False,
) -> None:
    """Migrate, then load the demo bank, exam, an open sitting and candidates (idempotent)."""
    from app.demo.loader import load_demo

    settings = _settings()
    if not settings.is_development:
        err.print("[red]The demo runs only with UJIAN_MODE=development.[/red]")
        raise typer.Exit(2)
    db = connect(settings)
    migrate.upgrade(db.engine)
    logins = load_demo(db, settings.var_dir, settings.secret())
    db.dispose()
    if as_json:
        print(json.dumps(logins.as_dict(), ensure_ascii=False))  # noqa: T201 - machine output
        return
    out.print("[bold]Demo loaded.[/bold] Staff logins (POST /api/v1/auth/token, or the pages):")
    for row in logins.staff:
        out.print(f"  {row['role']:<10} {row['username']:<10} password {row['password']}")
    if logins.sittings:
        out.print("Open sittings:")
        for sitting in logins.sittings:
            out.print(f"  #{sitting['id']} {sitting['exam']} {sitting.get('name', '')}")
    if logins.candidates:
        out.print("Candidates (log in at / with nomor peserta and PIN):")
        for row in logins.candidates[:5]:
            out.print(f"  nomor peserta {row['nomor_peserta']}  PIN {row['pin']}")
        if len(logins.candidates) > 5:
            out.print(f"  ... and {len(logins.candidates) - 5} more (ujian demo --json lists all)")


@user_cli.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="username")],
    role: Annotated[Role, typer.Option(help="admin, committee or proctor")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a staff account."""
    from app.services import staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
    db = _database()
    require_migrated(db)
    from app.clock import Clock

    try:
        with db.session() as session:
            staff.create_user(
                session,
                username=name,
                password=password,
                role=role,
                now=Clock().now(),
                actor=cli_actor(),
            )
    except AppError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    out.print(f"created {role} {name}")


@user_cli.command("list")
def user_list() -> None:
    """List staff accounts."""
    from app.repositories import staff as repo

    db = _database()
    with db.read_session() as session:
        for user in repo.list_users(session):
            state = "" if user.active else " (disabled)"
            out.print(f"{user.username}\t{user.role}{state}")


def _set_active(name: str, active: bool) -> None:
    from app.clock import Clock
    from app.services import staff

    db = _database()
    try:
        with db.session() as session:
            staff.set_active(session, name, active, Clock().now(), cli_actor())
    except AppError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc


@user_cli.command("disable")
def user_disable(name: str) -> None:
    """Disable an account and revoke its tokens."""
    _set_active(name, False)
    out.print(f"disabled {name}")


@user_cli.command("enable")
def user_enable(name: str) -> None:
    """Re-enable a disabled account."""
    _set_active(name, True)
    out.print(f"enabled {name}")


@user_cli.command("revoke-tokens")
def user_revoke_tokens(name: str) -> None:
    """Revoke every live token of an account."""
    from app.clock import Clock
    from app.services import staff

    db = _database()
    try:
        with db.session() as session:
            count = staff.revoke_all(session, name, Clock().now(), cli_actor())
    except AppError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    out.print(f"revoked {count} token(s) of {name}")


@audit_cli.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON report")] = False,
) -> None:
    """Check every audit chain end to end; exit 1 naming the first broken event."""
    from app.services import audit

    db = _database()
    with db.read_session() as session:
        result = audit.verify(session)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "intact": result.intact,
                    "events": result.events,
                    "chains": result.chains,
                    "breaks": [
                        {"event_id": b.event_id, "chain": b.chain, "seq": b.seq, "reason": b.reason}
                        for b in result.breaks
                    ],
                }
            )
        )
    elif result.intact:
        out.print(f"audit log intact: {result.events} events in {result.chains} chain(s)")
    else:
        for broken in result.breaks:
            err.print(f"[red]BROKEN[/red] {broken}")
    raise typer.Exit(0 if result.intact else 1)


# ------------------------------------------------------------------------------------------
# Item bank
# ------------------------------------------------------------------------------------------


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


BANK_SUFFIXES = (".json", ".csv", ".xlsx", ".xml", ".zip")


@bank_cli.command("import")
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
) -> None:
    """Import item files all or nothing; exit 1 (nothing imported) on any problem."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
    from rich.table import Table

    from app.clock import Clock
    from app.services import bank

    files = _bank_paths(paths)
    db = _database()
    require_migrated(db)
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
            with db.session() as session:
                report = bank.import_files(
                    session,
                    uploads,
                    actor=cli_actor(),
                    now=Clock().now(),
                    dry_run=dry_run,
                    progress=lambda n: progress.update(task, items=n),
                    default_section=section,
                    default_topic=topic,
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
    if report.created == report.new_versions == 0 and not dry_run:
        out.print("Nothing changed: every item is identical to its stored version.")


@bank_cli.command("export")
def bank_export(
    out_path: Annotated[Path, typer.Option("--out", help="file to write")],
    fmt: Annotated[str, typer.Option("--format", help="json or qti")] = "json",
) -> None:
    """Export the active bank: native JSON (a ZIP when it has images) or a QTI 3.0 package."""
    from app.services import bank
    from item_bank.formats import write_json, write_json_package, write_qti_package

    if fmt not in ("json", "qti"):
        err.print("[red]--format must be json or qti[/red]")
        raise typer.Exit(2)
    db = _database()
    with db.read_session() as session:
        items, media = bank.export_items(session)
    with out_path.open("wb") as handle:
        if fmt == "qti":
            write_qti_package(items, media, handle)
        elif media:
            write_json_package(items, media, handle)
        else:
            write_json(items, handle)
    out.print(f"exported {len(items)} items ({len(media)} images) to {out_path}")


@sections_cli.command("list")
def sections_list() -> None:
    """Section codes items may use."""
    from app.repositories import bank as repo

    db = _database()
    with db.read_session() as session:
        for section in repo.sections(session):
            out.print(f"{section.code}\t{section.name}")


@sections_cli.command("add")
def sections_add(code: str, name: str) -> None:
    """Add a section code (adding an existing one changes nothing)."""
    from app.clock import Clock
    from app.repositories import bank as repo
    from app.services import audit

    db = _database()
    with db.session() as session:
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


# ------------------------------------------------------------------------------------------
# Exams, sittings, rosters
# ------------------------------------------------------------------------------------------


def _fail(exc: Exception) -> typer.Exit:
    from item_bank.errors import BlueprintShortfall, InvalidInput

    if isinstance(exc, InvalidInput):
        from rich.table import Table

        table = Table(
            "file", "location", "field", "problem", title=f"{len(exc.problems)} problem(s)"
        )
        for problem in exc.problems:
            table.add_row(problem.file, problem.location, problem.field, problem.message)
        err.print(table)
    elif isinstance(exc, BlueprintShortfall):
        err.print("[red]The bank cannot serve this blueprint:[/red]")
        for shortfall in exc.shortfalls:
            err.print(f"  {shortfall}")
    elif isinstance(exc, AppError):
        err.print(f"[red]{exc.detail}[/red]")
    else:
        err.print(f"[red]{exc}[/red]")
    return typer.Exit(1)


@exam_cli.command("create")
def exam_create(
    spec: Annotated[Path, typer.Argument(exists=True, help="exam spec (YAML or JSON)")],
) -> None:
    """Define an exam from a spec file (a draft version; a published one is never changed)."""
    from app.clock import Clock
    from app.services import exams
    from item_bank.errors import InvalidInput

    db = _database()
    require_migrated(db)
    try:
        with db.session() as session:
            change = exams.define_exam(
                session, spec.read_bytes(), spec.name, actor=cli_actor(), now=Clock().now()
            )
            code, version = change.exam.code, change.exam.version
    except (InvalidInput, AppError) as exc:
        raise _fail(exc) from exc
    out.print(
        f"{code} v{version}: {change.outcome} (draft until published: ujian exam publish {code})"
    )


@exam_cli.command("publish")
def exam_publish(code: str) -> None:
    """Freeze the newest version of an exam with the bank it will draw from."""
    from app.clock import Clock
    from app.services import exams
    from item_bank.errors import BlueprintShortfall

    db = _database()
    try:
        with db.session() as session:
            exam = exams.publish_exam(session, code, actor=cli_actor(), now=Clock().now())
            version = exam.version
    except (BlueprintShortfall, AppError) as exc:
        raise _fail(exc) from exc
    out.print(f"{code} v{version} published")


@sitting_cli.command("create")
def sitting_create(
    exam: Annotated[str, typer.Option(help="exam code (its newest published version)")],
    name: Annotated[str, typer.Option(help="e.g. 'Sesi 1'")],
    starts_at: Annotated[
        str, typer.Option(help="ISO date-time; without an offset it is the site's local time")
    ],
    site: Annotated[str, typer.Option(help="test site (titik lokasi)")] = "",
    room: Annotated[str, typer.Option(help="room")] = "",
    timezone: Annotated[
        str, typer.Option(help="Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT)")
    ] = "Asia/Jakarta",
    proctor: Annotated[list[str] | None, typer.Option(help="proctor account(s) to assign")] = None,
) -> None:
    """Schedule a sitting."""
    from app.clock import Clock
    from app.services import exams

    db = _database()
    try:
        with db.session() as session:
            now = Clock().now()
            sitting = exams.create_sitting(
                session,
                exam_code=exam,
                name=name,
                starts_at=starts_at,
                site=site,
                room=room,
                timezone=timezone,
                actor=cli_actor(),
                now=now,
            )
            for username in proctor or []:
                exams.assign_proctor(session, sitting.id, username, actor=cli_actor(), now=now)
            sitting_id, local = sitting.id, exams.local_time(sitting.starts_at, sitting.timezone)
    except AppError as exc:
        raise _fail(exc) from exc
    out.print(f"sitting {sitting_id}: {name}, {exam}, starts {local}")


@roster_cli.command("import")
def roster_import(
    sitting: Annotated[int, typer.Argument(help="sitting id")],
    csv_path: Annotated[Path, typer.Argument(exists=True, help="roster CSV")],
    pins_out: Annotated[
        Path,
        typer.Option(
            "--pins-out",
            help="where to write the PINs (CSV); a printable sheet is written beside it (.html)",
        ),
    ],
) -> None:
    """Register candidates in a sitting (all rows or none) and write their one-time PINs."""
    from app.clock import Clock
    from app.services import exams, pin_sheet
    from item_bank.errors import InvalidInput

    settings = _settings()
    db = connect(settings)
    try:
        with db.session() as session:
            issued = exams.import_roster(
                session,
                sitting,
                csv_path.read_bytes(),
                csv_path.name,
                secret=settings.secret(),
                actor=cli_actor(),
                now=Clock().now(),
            )
            sheet = pin_sheet.render(session, sitting, issued)
    except (InvalidInput, AppError) as exc:
        raise _fail(exc) from exc
    pins_out.write_text(exams.pins_csv(issued), encoding="utf-8")
    pins_out.chmod(0o600)
    html_path = pins_out.with_suffix(".html")
    html_path.write_text(sheet, encoding="utf-8")
    html_path.chmod(0o600)
    out.print(
        f"registered {len(issued)} candidates; PINs in {pins_out}, printable sheet {html_path}"
    )


@rank_cli.command("publish")
def rank_publish(
    exam: str,
    formation: Annotated[str | None, typer.Option(help="only this formation")] = None,
) -> None:
    """Publish the anonymized ranking snapshot(s) of an exam."""
    from app.clock import Clock
    from app.services import rankings

    settings = _settings()
    db = connect(settings)
    try:
        with db.session() as session:
            published = rankings.publish(
                session,
                exam,
                secret=settings.secret(),
                actor=cli_actor(),
                now=Clock().now(),
                formation=formation,
            )
            lines = [
                f"{p.formation}: {p.outcome}"
                + (
                    f" (snapshot {p.snapshot.number}, {p.changes} change(s), "
                    f"{p.snapshot.content_hash[:12]})"
                    if p.snapshot
                    else ""
                )
                for p in published
            ]
    except (AppError, ScoringErrorType) as exc:
        raise _fail(exc) from exc
    for line in lines:
        out.print(line)


@report_cli.command("items")
def report_items(
    exam: str,
    as_json: Annotated[
        bool, typer.Option("--json", help="print JSON instead of writing HTML")
    ] = False,
    out_path: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default: item-report-EXAM.html)")
    ] = None,
) -> None:
    """Item analysis for the committee: statistics, flags and plots (a self-contained HTML file)."""
    from app.reports.item_report import analysis_to_json, render_item_report_html
    from app.services import item_analysis

    db = _database()
    try:
        with db.read_session() as session:
            runtime, analysis = item_analysis.analyse_exam(session, exam)
    except AppError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps(analysis_to_json(analysis), ensure_ascii=False))  # noqa: T201
        return
    target = out_path or Path(f"item-report-{exam}.html")
    target.write_text(
        render_item_report_html(
            analysis,
            f"{runtime.title} ({runtime.code} v{runtime.version})",
            correction_url=item_analysis.correction_link(exam),
        ),
        encoding="utf-8",
    )
    out.print(f"{len(analysis.flagged)} item(s) flagged; report written to {target}")


# ------------------------------------------------------------------------------------------
# Psychometrics
# ------------------------------------------------------------------------------------------


@cli.command()
def calibrate(
    exam: str,
    model: Annotated[str, typer.Option(help="rasch, 1pl, 2pl or 3pl")] = "2pl",
    apply: Annotated[
        bool, typer.Option("--apply", help="set the items' IRT parameters from it")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print every item's estimates as JSON")
    ] = False,
) -> None:
    """Calibrate an exam's items (IRT, marginal maximum likelihood) from its finished attempts."""
    from app.clock import Clock
    from app.services import calibration

    db = _database()
    try:
        with db.session() as session:
            record = calibration.calibrate_exam(
                session, exam, model=model, apply=apply, actor=cli_actor(), now=Clock().now()
            )
            summary = calibration.summary(record)
            items = record.result.get("items", [])
    except AppError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps({**summary, "item_estimates": items}, default=str, ensure_ascii=False))  # noqa: T201
        return
    out.print(
        f"calibration {summary['id']}: {summary['model']} on {summary['candidates']} candidates "
        f"x {summary['items']} items, {'converged' if summary['converged'] else 'NOT converged'} "
        f"in {summary['iterations']} iterations; "
        f"{summary['misfitting']} item(s) misfit (RMSD > 0.12)"
    )
    out.print("applied to the items" if apply else "not applied (rerun with --apply to use it)")


@cli.command()
def simulate(
    examinees: Annotated[int, typer.Option(help="simulated candidates")] = 1000,
    bank: Annotated[int, typer.Option(help="items in the simulated 3PL bank")] = 1000,
    max_items: Annotated[int, typer.Option(help="most items per candidate")] = 30,
    min_items: Annotated[int, typer.Option(help="fewest items before the SE target may stop")] = 1,
    se_target: Annotated[
        float | None, typer.Option(help="stop once SE(theta) is at most this")
    ] = None,
    randomesque: Annotated[
        int, typer.Option(help="draw each item from the k most informative")
    ] = 5,
    seed: Annotated[int, typer.Option(help="seed of the whole run")] = 0,
    scenarios: Annotated[
        bool, typer.Option("--scenarios", help="run the standard comparison set instead")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the reports as JSON")] = False,
) -> None:
    """Simulate an adaptive section: choose its length and stopping rule (RMSE, bias, exposure)."""
    from rich.table import Table

    from scoring.cat import AdaptiveRules
    from scoring.simulate import (
        BankDesign,
        SimulationConfig,
        standard_scenarios,
    )
    from scoring.simulate import (
        simulate as run_simulation,
    )

    if scenarios:
        configs = standard_scenarios(seed=seed, n_examinees=examinees)
    else:
        rules = AdaptiveRules(
            max_items, min_items=min_items, se_target=se_target, randomesque=randomesque
        )
        configs = (
            SimulationConfig(
                name="custom",
                n_examinees=examinees,
                rules=rules,
                bank=BankDesign(n_items=bank),
                seed=seed,
            ),
        )
    reports = [run_simulation(config) for config in configs]
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], default=str))  # noqa: T201
        return
    table = Table(
        "scenario", "RMSE θ", "bias", "mean items", "max exposure", "never used", "overlap"
    )
    for report in reports:
        data = report.as_dict()
        table.add_row(
            data["name"],
            f"{data['rmse']:.3f}",
            f"{data['bias']:+.3f}",
            f"{data['mean_length']:.1f}",
            f"{data['max_exposure']:.0%}",
            f"{data['never_used']:.0%}",
            f"{data['overlap_rate']:.0%}",
        )
    out.print(table)


def main() -> None:
    """Entry point of the ``ujian`` console script."""
    cli()


if __name__ == "__main__":
    main()
