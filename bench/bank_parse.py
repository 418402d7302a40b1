"""Bank parsing speed and memory: parse + validate synthetic banks of 10,000 and 50,000 items.

Writes the banks (CSV with ';' and decimal commas, XLSX, native JSON, a QTI 3.0 package) under
bench/out/, then for each file measures wall and CPU time of parse + validate + the upload's
duplicate-code check (CPU time is the steadier figure on a shared machine), and the peak of
Python allocations (tracemalloc, separate runs) of the file's records alone and of the
whole-upload check, which also remembers every code it has seen.

    .venv/bin/python -m bench.bank_parse [--sizes 10000 50000] [--formats csv xlsx json qti]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from pathlib import Path

from item_bank.formats import (
    ParsedItem,
    check_upload,
    open_bank_file,
    write_json,
    write_qti_package,
)
from item_bank.synthetic import synthetic_items, write_csv, write_xlsx

OUT = Path(__file__).parent / "out"
SKD = frozenset({"TWK", "TIU", "TKP"})


def bank_file(kind: str, size: int) -> Path:
    path = OUT / (f"bank-{size}-qti.zip" if kind == "qti" else f"bank-{size}.{kind}")
    if path.exists():
        return path
    OUT.mkdir(exist_ok=True)
    items = synthetic_items(size, seed=2024, irt=True)
    if kind == "csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            write_csv(items, out, delimiter=";", decimal_comma=True)
    elif kind == "xlsx":
        with path.open("wb") as binary:
            write_xlsx(items, binary)
    elif kind == "qti":
        with path.open("wb") as binary:
            write_qti_package(items, {}, binary)
    else:
        with path.open("wb") as binary:
            write_json(items, binary)
    return path


def parse(path: Path, *, whole_upload: bool) -> tuple[int, int]:
    with path.open("rb") as stream:
        bank = open_bank_file(path.name, stream, known_sections=SKD)
        records = check_upload([bank]) if whole_upload else bank.records()
        items = problems = 0
        for record in records:
            if isinstance(record, ParsedItem):
                items += 1
            else:
                problems += 1
    return items, problems


def peak_mib(path: Path, *, whole_upload: bool) -> float:
    gc.collect()
    tracemalloc.start()
    parse(path, whole_upload=whole_upload)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def measure(path: Path) -> tuple[int, float, float, float, float]:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    items, problems = parse(path, whole_upload=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert problems == 0, f"{path}: {problems} problems"
    return (
        items,
        wall,
        cpu,
        peak_mib(path, whole_upload=False),
        peak_mib(path, whole_upload=True),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx", "json", "qti"])
    args = parser.parse_args()
    print(
        "| format | items | file MiB | wall s | CPU s | items/s (CPU) |"
        " peak MiB, records() | peak MiB, check_upload() |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in args.formats:
        for size in args.sizes:
            path = bank_file(kind, size)
            items, wall, cpu, records_peak, upload_peak = measure(path)
            megabytes = path.stat().st_size / 2**20
            print(
                f"| {kind} | {items:,} | {megabytes:.1f} | {wall:.2f} | {cpu:.2f} |"
                f" {items / cpu:,.0f} | {records_peak:.1f} | {upload_peak:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
