"""Importing big banks into the database: 50,000 items from CSV and from XLSX, on SQLite and on
PostgreSQL, with time, items per second and peak memory (10,000 beside 50,000 shows memory
stays flat: files are streamed, never loaded whole).

Run:  .venv/bin/python -m bench.bank_import [--items 50000] [--small 10000]

Each import runs in its own process (a fresh database, `ujian`'s import service, one
transaction, all or nothing) so its peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.readme import write_section

PG_ADMIN = os.environ.get("UJIAN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]


def make_files(n: int, workdir: Path) -> dict[str, Path]:
    """A CSV (semicolon, decimal comma, as Indonesian spreadsheets write) and an XLSX of n items."""
    from item_bank.synthetic import synthetic_items, write_csv, write_xlsx

    csv_path = workdir / f"bank-{n}.csv"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as out:
        write_csv(synthetic_items(n, seed=11), out, delimiter=";", decimal_comma=True)
    xlsx_path = workdir / f"bank-{n}.xlsx"
    with xlsx_path.open("wb") as out:
        write_xlsx(synthetic_items(n, seed=11), out)
    return {"CSV": csv_path, "XLSX": xlsx_path}


def child(url: str, path: str) -> None:
    """Import one file into a freshly migrated database; print figures as JSON."""
    from app import migrate
    from app.clock import Clock
    from app.db import connect
    from app.services import bank
    from app.settings import Mode, Settings

    settings = Settings(
        mode=Mode.DEVELOPMENT, database_url=url, secret_key="b" * 40, sqlite_synchronous="FULL"
    )
    db = connect(settings)
    migrate.upgrade(db.engine)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with Path(path).open("rb") as handle, db.session() as session:
        report = bank.import_files(
            session, [bank.UploadFile(Path(path).name, handle)], actor="bench", now=Clock().now()
        )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "created": report.created,
                "errors": len(report.errors),
                "peak_mib": peak / 1024,
                "before_mib": baseline / 1024,
            }
        )
    )


def run(url: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bank_import", "--child", url, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def database(backend: str, workdir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / f'import-{secrets.token_hex(3)}.db'}", None
    import psycopg

    name = f"ujian_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def drop(name: str | None) -> None:
    if name:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    lines = [
        f"Command: `.venv/bin/python -m bench.bank_import --items {args.items} --small {args.small}` "
        f"({os.cpu_count()} cores, shared). Synthetic SKD-shaped items (single and weighted 1-5, "
        "p-values, levels); the CSV is semicolon-delimited with decimal commas and a BOM, as an "
        "Indonesian-locale spreadsheet writes it. Each import is one all-or-nothing transaction "
        "into a freshly migrated database, in its own process; peak memory is that process's "
        "maximum resident set (Python, SQLAlchemy and numpy included).",
        "",
        "| backend | format | items | seconds | items/s | peak RSS MiB | target |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        files = {n: make_files(n, workdir) for n in (args.small, args.items)}
        for backend in ("sqlite", "postgresql"):
            for fmt in ("CSV", "XLSX"):
                for n in (args.small, args.items):
                    url, name = database(backend, workdir)
                    try:
                        figures = run(url, files[n][fmt])
                    finally:
                        drop(name)
                    assert figures["errors"] == 0 and figures["created"] == n, figures
                    target = "under 15 s" if (fmt == "CSV" and n == args.items) else ""
                    lines.append(
                        f"| {backend} | {fmt} | {n:,} | {figures['seconds']:.1f} | "
                        f"{n / figures['seconds']:,.0f} | {figures['peak_mib']:.0f} | {target} |"
                    )
                    print(lines[-1], flush=True)
    write_section("Bank import into the database", "\n".join(lines))


if __name__ == "__main__":
    main()
