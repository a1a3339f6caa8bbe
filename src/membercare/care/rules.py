"""Care rules (placeholder: being written)."""

RULES: dict = {}
