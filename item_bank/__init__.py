"""Items, bank formats, validation, exam specs, blueprints and form assembly (pure)."""
