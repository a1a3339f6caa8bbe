"""Text every input must not carry: control characters (NUL — which PostgreSQL cannot store — the other C0
codes but tab, newline and carriage return, DEL and C1). One definition for the API and the web pages."""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None
