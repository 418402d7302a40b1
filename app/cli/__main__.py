"""``python -m app.cli``: the ``ujian`` command line."""

from app.cli import main

main()
