"""Segment migration month over month and cohort retention, read from the facts (analytics.facts fills
SegmentMove from the care segment history and Cohort from care_purchaseday)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Max, Sum

from .measures import Scope, rate
from .models import Cohort, SegmentMove


def migration_months(store_ids: tuple[int, ...] | None = None) -> list[dt.date]:
    """The months (first days) for which a migration to the next month is stored, newest first."""
    return sorted(set(SegmentMove.objects.values_list("from_day", flat=True).distinct()), reverse=True)


def migration_matrix(dimension: str, from_day: dt.date, store_ids: tuple[int, ...] | None) -> dict[str, dict[str, int]]:
    """{from value: {to value: members}} for the month starting `from_day` (first of the month → first of the
    next), members registered at the stores (None: the chain). "" as from value: not computed yet then (e.g.
    registered during the month). E.g. matrix["new"]["active"]: new members who became active."""
    rows = SegmentMove.objects.filter(dimension=dimension, from_day=from_day)
    if store_ids is not None:
        rows = rows.filter(store_id__in=list(store_ids))
    matrix: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows.values("from_value", "to_value").annotate(n=Sum("members")):
        matrix[r["from_value"]][r["to_value"]] = int(r["n"])
    return dict(matrix)


def cohort_table(scope: Scope | None = None, store_ids: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Retention by month of first purchase: rows of {cohort, size, retained: [members in month 1..12],
    rates: [retained / size]}; a month not over yet on the computation day (as_of) is None. Cohorts of the
    24 complete months before as_of."""
    as_of = Cohort.objects.aggregate(d=Max("as_of"))["d"]
    if as_of is None:
        return {"as_of": None, "rows": [], "offsets": list(range(1, 13))}
    rows = Cohort.objects.filter(as_of=as_of)
    if store_ids is not None:
        rows = rows.filter(store_id__in=list(store_ids))
    cells: dict[dt.date, dict[int, int]] = defaultdict(dict)
    for r in rows.values("cohort", "offset").annotate(n=Sum("members")):
        cells[r["cohort"]][r["offset"]] = int(r["n"])
    out = []
    for cohort in sorted(cells, reverse=True):
        size = cells[cohort].get(0, 0)
        months_over = (as_of.year * 12 + as_of.month) - (cohort.year * 12 + cohort.month) - 1
        retained = [cells[cohort].get(k, 0) if k <= months_over else None for k in range(1, 13)]
        out.append({"cohort": cohort, "size": size, "retained": retained,
                    "rates": [rate(n, size) if n is not None else None for n in retained],
                    "cells": [{"n": n, "rate": rate(n, size) if n is not None else None} for n in retained]})
    return {"as_of": as_of, "rows": out, "offsets": list(range(1, 13))}
