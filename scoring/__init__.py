"""Scoring rules, thresholds, results, rankings, pseudonyms and psychometrics (numpy only)."""
