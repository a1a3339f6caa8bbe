"""Reads of the segments: a member's history, the state on a day, counts, and migration between two days.

The state on day D comes from the history spans (SegmentSpan): the span with valid_from <= D and
(valid_to is null or valid_to > D). Dimensions are the segment fields of care.models.SEGMENT_FIELD_NAMES
(lifecycle, spend_class, rfm_r, rfm_f, rfm_m, pyramid, follow_up and the seven flags).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from membercare.members.models import Member

from .models import SEGMENT_FIELD_NAMES, SEVEN_SEGMENTS, MemberSegments, SegmentSpan

FLAGS = {code for code, _label in SEVEN_SEGMENTS}


def _check_dimension(dimension: str) -> str:
    if dimension not in SEGMENT_FIELD_NAMES:
        raise ValueError(f"unknown segment dimension {dimension!r}")
    return dimension


def _value(dimension: str, value: Any) -> Any:
    """SQLite returns booleans as 0/1 from raw SQL: the flags as True/False (None stays None)."""
    return bool(value) if dimension in FLAGS and value is not None else value


def member_segment_history(member: Member | int) -> QuerySet[SegmentSpan]:
    """The member's segment spans, newest first (the open one, valid_to null, is the current state)."""
    member_id = member if isinstance(member, int) else member.pk
    return SegmentSpan.objects.filter(member_id=member_id).order_by("-valid_from", "-pk")


def on_day(day: dt.date) -> Q:
    """The spans in force on `day`."""
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def segments_on(day: dt.date, store_ids: Iterable[int] | None = None) -> QuerySet[SegmentSpan]:
    """Every member's segments on `day` (one span per member that had been computed by then)."""
    spans = SegmentSpan.objects.filter(on_day(day))
    if store_ids is not None:
        spans = spans.filter(member__home_store_id__in=list(store_ids))
    return spans


def segment_counts(day: dt.date | None = None, store_ids: Iterable[int] | None = None) -> dict[str, dict[Any, int]]:
    """{dimension: {value: members}} on `day` (from the history) or now (day None: the current rows),
    for the members registered at `store_ids` (None: the chain). One grouped query over all dimensions."""
    if day is None:
        rows = MemberSegments.objects.all()
        if store_ids is not None:
            rows = rows.filter(member__home_store_id__in=list(store_ids))
    else:
        rows = segments_on(day, store_ids)
    counts: dict[str, dict[Any, int]] = {dimension: {} for dimension in SEGMENT_FIELD_NAMES}
    for group in rows.order_by().values(*SEGMENT_FIELD_NAMES).annotate(n=Count("*")):
        for dimension in SEGMENT_FIELD_NAMES:
            value = group[dimension]
            counts[dimension][value] = counts[dimension].get(value, 0) + group["n"]
    return counts


def segment_migration(dimension: str, from_day: dt.date, to_day: dt.date,
                      store_ids: Iterable[int] | None = None) -> dict[Any, dict[Any, int]]:
    """How members moved between the values of one dimension from `from_day` to `to_day`:
    {from_value: {to_value: members}}, over the members with segments on `to_day`; a member not yet computed
    on `from_day` counts under the from_value None. E.g. segment_migration("lifecycle", day - 30 days, day)."""
    column = _check_dimension(dimension)
    params: list[Any] = [from_day, from_day, to_day, to_day]
    where_store = ""
    if store_ids is not None:
        ids = [int(i) for i in store_ids]
        if not ids:
            return {}
        where_store = f" AND b.member_id IN (SELECT id FROM members_member WHERE home_store_id IN " \
                      f"({', '.join(['%s'] * len(ids))}))"
        params += ids
    sql = f"""
        SELECT a.{column}, b.{column}, COUNT(*)
        FROM care_segmentspan b
        LEFT JOIN care_segmentspan a ON a.member_id = b.member_id AND a.valid_from <= %s
             AND (a.valid_to IS NULL OR a.valid_to > %s)
        WHERE b.valid_from <= %s AND (b.valid_to IS NULL OR b.valid_to > %s){where_store}
        GROUP BY a.{column}, b.{column}"""
    matrix: dict[Any, dict[Any, int]] = {}
    with connection.cursor() as cur:
        cur.execute(sql, params)
        for before, after, count in cur.fetchall():
            row = matrix.setdefault(_value(dimension, before), {})
            row[_value(dimension, after)] = row.get(_value(dimension, after), 0) + count
    return matrix
