"""Care rules (being written): code -> function(day, config) -> number of tasks created."""

RULES: dict = {}
