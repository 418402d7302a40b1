"""The demo: staff accounts, the demo bank, the SKD exam, an open sitting and its candidates."""
