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
    products = Product.objects.select_related("series")
    # two lookups, each on its unique index (an OR of the two scans the catalogue on SQLite)
    return products.filter(sku=code.upper()).first() or products.filter(barcode=code).first()


def product_search(query: str, limit: int = SEARCH_LIMIT) -> list[Product]:
    """Products for the counter's search box: the one product an exact SKU or barcode names (a scanner's code);
    else those whose SKU starts with the query, then those whose name contains it, each in SKU order; at most
    `limit`. On PostgreSQL the first two use indexes (the unique ones, and UPPER(sku) with pattern ops) and the
    name one scan of the catalogue, case-sensitive when the query has no Latin letter (Chinese names have no
    case: a plain LIKE, half the cost of UPPER on both sides). bench/bench_product_search.py measures it at
    100,000 products."""
    query = _clean(query)
    if not query:
        return []
    exact = product_by_code(query)
    if exact is not None:
        return [exact]
    found = list(Product.objects.filter(sku__istartswith=query).order_by("sku")[:limit])
    if len(found) < limit:
        by_name = Q(name__icontains=query) if any("a" <= ch.lower() <= "z" for ch in query) else Q(name__contains=query)
        found += list(Product.objects.filter(by_name).exclude(pk__in=[p.pk for p in found])
                      .order_by("sku")[: limit - len(found)])
    return found


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
