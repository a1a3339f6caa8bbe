"""The measures' figures as every page shows them (analytics.dashboard.display): a share as 48.2%, money as
¥1,234.50, a count as 1,234, nothing as —. Pages that show a figure also shown elsewhere use these, so the
same figure reads the same on every page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from membercare.analytics.dashboard import display

register = template.Library()


def _decimal(value: Any) -> Decimal | None:
    """The value as a Decimal; None for nothing (None, or "" where a template found no figure)."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def share(value: Any) -> str:
    """A share in [0, 1] as a percentage with one decimal."""
    return display(_decimal(value), "percent")


@register.filter
def yuan(value: Any) -> str:
    """Money (Decimal, or its text from a stored result) as ¥ with two decimals and thousands separators."""
    number = _decimal(value)
    return display(None if number is None else number.quantize(Decimal("0.01")), "money")


@register.filter
def count(value: Any) -> str:
    number = _decimal(value)
    return display(None if number is None else int(number), "number")
