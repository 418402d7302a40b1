"""Ujian's web layer, persistence, auth, CLI and pages."""
