"""The complaint figures care shows, supplied by the app that keeps complaints (service registers them).

care sits below service, so it does not import it: service's AppConfig.ready calls
`register_complaint_source` with its two counts. Without a source (service not installed), members have no
complaints.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import BooleanField, Expression, IntegerField, Value

OpenCounts = Callable[[list[int]], dict[int, int]]
OnRecordExpr = Callable[[str], Expression]

_source: dict[str, Callable] = {}


def register_complaint_source(*, open_counts: OpenCounts, on_record_expr: OnRecordExpr,
                              open_expr: OnRecordExpr | None = None) -> None:
    """`open_counts(member_ids) -> {member id: open complaints}`; `on_record_expr(member_ref)`: an expression
    counting a member's complaints on record (open or past) per row of a member query; `open_expr(member_ref)`:
    a boolean expression, true when the member has an open complaint."""
    _source.update(open_counts=open_counts, on_record_expr=on_record_expr, open_expr=open_expr)


def open_complaints_count(member_ids: list[int]) -> dict[int, int]:
    """Open complaints per member."""
    counts = _source.get("open_counts")
    return counts(member_ids) if counts is not None else {}


def complaints_on_record_expr(member_ref: str = "member_id") -> Expression:
    """Per row of a member query: the member's complaints on record, open or past."""
    expr = _source.get("on_record_expr")
    return expr(member_ref) if expr is not None else Value(0, output_field=IntegerField())


def has_open_complaint_expr(member_ref: str = "pk") -> Expression:
    """Per row of a member query: true when the member has an open complaint."""
    expr = _source.get("open_expr")
    return expr(member_ref) if expr is not None else Value(False, output_field=BooleanField())
