"""/care/segments/: how many members are in each segment now, and how they moved between two days (e.g.
month over month). Managers see the members registered at their stores; HQ the chain or one store."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.care.access import can_manage_store_tasks, is_chain_wide
from membercare.care.models import SEVEN_SEGMENTS, FollowUp, Lifecycle, MemberSegments, Pyramid, SpendClass
from membercare.care.segment_selectors import segment_counts, segment_migration

from ..stores import picked_store, store_choices

DIMENSIONS = {"lifecycle": Lifecycle, "spend_class": SpendClass, "follow_up": FollowUp, "pyramid": Pyramid}
FLAG_CODES = [code for code, _label in SEVEN_SEGMENTS]


def _label(dimension: str, value: Any) -> str:
    if value is None:
        return _("not computed yet")
    if value == "":
        return _("none")
    if dimension in DIMENSIONS:
        try:
            return str(DIMENSIONS[dimension](value).label)
        except ValueError:
            return str(value)
    if dimension in FLAG_CODES:
        return _("yes") if value else _("no")
    return str(value)


def _order(dimension: str, values) -> list:
    known = list(DIMENSIONS[dimension].values) if dimension in DIMENSIONS else []
    return sorted(values, key=lambda v: (v is None, known.index(v) if v in known else len(known), str(v)))


def _date(value: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def care_segments_page(request: HttpRequest) -> HttpResponse:
    if not can_manage_store_tasks(request.user):
        raise PermissionDenied
    stores = store_choices(request.user)
    chain = is_chain_wide(request.user)
    store = picked_store(request, stores, default_first=False)  # none picked: all of them
    store_ids = [store.pk] if store else (None if chain else [s.pk for s in stores])
    today = timezone.localdate()
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    to_day = _date(request.GET.get("to", ""), today)
    from_day = _date(request.GET.get("from", ""), min(last_month_end, to_day))
    dimension = request.GET.get("dimension", "lifecycle")
    if dimension not in (*DIMENSIONS, *FLAG_CODES):
        dimension = "lifecycle"

    counts = segment_counts(None, store_ids)
    total = sum(counts["lifecycle"].values())
    tables = []
    for dim in DIMENSIONS:
        rows = [(_label(dim, v), counts[dim][v]) for v in _order(dim, counts[dim])]
        tables.append({"name": MemberSegments._meta.get_field(dim).verbose_name, "rows": rows})
    flags = [(label, counts[code].get(True, 0)) for code, label in SEVEN_SEGMENTS]

    matrix = segment_migration(dimension, from_day, to_day, store_ids)
    befores = _order(dimension, matrix)
    afters = _order(dimension, {a for row in matrix.values() for a in row})
    grid = [{"label": _label(dimension, b), "cells": [matrix[b].get(a, 0) for a in afters],
             "total": sum(matrix[b].values()), "stayed": matrix[b].get(b, 0)} for b in befores]
    computed_on = MemberSegments.objects.order_by("-computed_on").values_list("computed_on", flat=True).first()
    return render(request, "web/care/segments.html", {
        "stores": stores, "store": store, "chain": chain, "total": total, "tables": tables, "flags": flags,
        "computed_on": computed_on, "dimension": dimension, "from_day": from_day, "to_day": to_day,
        "dimensions": [(d, MemberSegments._meta.get_field(d).verbose_name) for d in (*DIMENSIONS, *FLAG_CODES)],
        "afters": [_label(dimension, a) for a in afters], "grid": grid,
    })
