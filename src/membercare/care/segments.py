"""Daily segments (placeholder: being written)."""

import datetime as dt


def segments_compute(day: dt.date, config: dict) -> int:
    return 0
