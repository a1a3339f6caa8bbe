import unicodedata

from django.db.models import Q
from django.utils.translation import gettext as _

from membercare.core.timeline import TimelineEvent
from membercare.members.models import Member

from .models import Product, Receipt

MAX_QUERY = 50  # characters of a product search (a SKU, a barcode or part of a name)
SEARCH_LIMIT = 12


def _clean(text: str) -> str:
    text = "".join(ch for ch in (text or "")[:200] if unicodedata.category(ch)[0] != "C")
    return text.strip()[:MAX_QUERY]


def product_by_code(code: str) -> Product | None:
    """The product whose SKU (any case) or barcode is exactly `code`: what a scanner or a typed SKU names."""
    code = _clean(code)
    if not code:
        return None
    return (Product.objects.select_related("series").filter(Q(sku=code.upper()) | Q(barcode=code))
            .order_by("sku").first())


def product_search(query: str, limit: int = SEARCH_LIMIT) -> list[Product]:
    """Products for the counter's search box: an exact SKU or barcode first, then those whose SKU starts with
    the query or whose name contains it, in SKU order; at most `limit`. On PostgreSQL the exact match uses the unique
    indexes and the rest one scan of the catalogue (bench/bench_product_search.py measures it at 100,000
    products)."""
    query = _clean(query)
    if not query:
        return []
    exact = product_by_code(query)
    found = [exact] if exact else []
    rest = (Product.objects.filter(Q(sku__istartswith=query) | Q(name__icontains=query))
            .exclude(pk__in=[p.pk for p in found]).order_by("sku")[: max(0, limit - len(found))])
    return found + list(rest)


def member_purchase_events(member: Member, limit: int) -> list[TimelineEvent]:
    receipts = (
        Receipt.objects.filter(member=member).select_related("store").prefetch_related("lines__product")
        .order_by("-sold_at")[:limit]
    )
    events = []
    for r in receipts:
        items = "、".join(f"{line.product.name}×{line.quantity}" for line in r.lines.all())
        kind = "return" if r.total_paid < 0 else "purchase"
        events.append(TimelineEvent(
            at=r.sold_at, kind=kind,
            title=_("%(store)s: paid ¥%(paid)s") % {"store": r.store.name, "paid": r.total_paid},
            detail=items, extra={"receipt": r.number, "receipt_id": r.pk, "store_id": r.store_id},
        ))
    return events
