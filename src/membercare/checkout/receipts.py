"""Finding a receipt at the counter without the paper slip (issue 18): by its number or a part of it, by the
member (phone, last four digits, name, member or card number) and by the day.

Always within the stores the clerk sells at and newest first, at most RESULTS_MAX. A part of a number is
matched only among the receipts of those stores in the last PARTIAL_DAYS days (or on the day asked for),
which the (store, sold_at) index serves, so a few digits never scan the chain's ten million receipts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from membercare.core.phone import normalize_phone
from membercare.members.selectors import member_search
from membercare.org.models import Store
from membercare.sales.models import Receipt, ReceiptLine

RESULTS_MAX = 50
PARTIAL_DAYS = 90
QUERY_MAX = 50


@dataclass
class ReceiptSearch:
    receipts: list[Receipt]
    kind: str  # what the box understood: number, part, member, day, empty
    truncated: bool
    exact: bool  # one receipt, by its full number: the counter opens it directly


def _day_range(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def _units(**lookup) -> Coalesce:
    total = (ReceiptLine.objects.filter(**lookup).order_by().values(next(iter(lookup)))
             .annotate(n=Sum("quantity")).values("n"))
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def receipt_search(stores: QuerySet[Store], query: str = "", day: dt.date | None = None) -> ReceiptSearch:
    """Receipts found by the box and the day; each with `units_left`, the units that can still be returned
    (0 for a return, and for a receipt returned in full)."""
    text = " ".join((query or "").split())[:QUERY_MAX]
    base = (Receipt.objects.filter(store__in=stores).select_related("store", "member", "clerk", "original")
            .annotate(units_left=_units(receipt=OuterRef("pk")) + _units(receipt__original=OuterRef("pk")))
            .order_by("-sold_at", "-pk"))
    if day is not None:
        base = base.filter(sold_at__range=_day_range(day))
    if not text:
        if day is None:
            return ReceiptSearch([], "empty", False, False)
        found = list(base[:RESULTS_MAX + 1])
        return ReceiptSearch(found[:RESULTS_MAX], "day", len(found) > RESULTS_MAX, False)
    exact = list(base.filter(number__in={text, text.upper()})[:1])
    if exact:
        return ReceiptSearch(exact, "number", False, True)
    digits = re.sub(r"[\s\-]", "", text)
    qs, kind = None, "member"
    try:
        phone = normalize_phone(text)
    except ValidationError:  # not a phone number: another kind of query
        phone = None
    if phone:
        qs = base.filter(member__phone=phone)
    elif re.fullmatch(r"[0-9A-Za-z]{3,20}", digits) and re.search(r"\d", digits):
        recent = base if day is not None else base.filter(
            sold_at__gte=timezone.now() - dt.timedelta(days=PARTIAL_DAYS))
        by_part = recent.filter(number__iendswith=digits)
        if len(digits) == 4:  # four digits: the end of a receipt number, or of the member's phone
            by_part = recent.filter(Q(number__iendswith=digits) | Q(member__phone_last4=digits))
        found = list(by_part[:RESULTS_MAX + 1])
        if found:
            return ReceiptSearch(found[:RESULTS_MAX], "part", len(found) > RESULTS_MAX, False)
    if qs is None:
        members = [m.pk for m in member_search(text, limit=20).members]
        qs = base.filter(member_id__in=members) if members else base.none()
    found = list(qs[:RESULTS_MAX + 1])
    return ReceiptSearch(found[:RESULTS_MAX], kind, len(found) > RESULTS_MAX, False)
