"""Write one benchmark's section of bench/README.md, leaving the other sections as they are."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

README = Path(__file__).with_name("README.md")


def write_section(title: str, body: str) -> None:
    """Replace (or append) the ``## title`` section of bench/README.md with ``body``."""
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    stamp = f"_Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC._"
    section = f"## {title}\n\n{stamp}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    README.write_text(text.rstrip() + "\n")
