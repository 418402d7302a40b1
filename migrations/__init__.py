"""Alembic revisions of the tables, shipped in the package so `ujian db upgrade` finds them."""
