"""Reports for committees rendered from pure analysis values (HTML and JSON, no database)."""
