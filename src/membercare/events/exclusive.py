"""The exclusive sale's extra discount (折上折) at checkout, and the receipts that received it.

A provider of the sale pipeline (sales.pipeline; registered in EventsConfig.ready, after the card's discount
and before the birthday privilege): invited members (not held out) get the extra discount on every full-price
unit, taken from the card-discounted price, and the receipt is remembered (EventReceipt) with the sale.
Its quote runs for every basket, so it must cost nothing when no exclusive sale runs: the day's active sales
are kept per process in a tiny dict keyed by date, refreshed at most every CACHE_SECONDS (a sale saved in
another process is seen within that time) and dropped at once when an event is saved or deleted in this
process. Only when a sale runs at
the store does one indexed query ask whether the member was invited (not held out).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy

from membercare.sales.pipeline import Adjustment, money

ZERO = Decimal("0")
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class ActiveSale:
    event_id: int
    store_ids: frozenset[int]  # empty: every store of the brand
    brand_id: int | None
    discount: Decimal

    def applies_at(self, store) -> bool:
        if self.store_ids:
            return store.pk in self.store_ids
        return self.brand_id is None or store.brand_id == self.brand_id


_CACHE: dict[dt.date, tuple[float, tuple[ActiveSale, ...]]] = {}


def invalidate(**_kwargs) -> None:
    """Drop the cached sales (connected to Event saves and deletes, and its stores changing)."""
    _CACHE.clear()


def active_sales(on: dt.date) -> tuple[ActiveSale, ...]:
    """The exclusive sales running on `on` (cached per process)."""
    now = time.monotonic()
    hit = _CACHE.get(on)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    from .models import Event

    events = list(Event.objects.filter(kind=Event.Kind.EXCLUSIVE_SALE, cancelled=False, sale_starts_on__lte=on,
                                       sale_ends_on__gte=on, extra_discount__gt=0).prefetch_related("stores"))
    sales = tuple(ActiveSale(e.pk, frozenset(s.pk for s in e.stores.all()), e.brand_id, e.extra_discount)
                  for e in events)
    if len(_CACHE) > 8:
        _CACHE.clear()
    _CACHE[on] = (now, sales)
    return sales


def exclusive_sale_for(member_id: int | None, store, on: dt.date) -> ActiveSale | None:
    """The exclusive sale (largest discount) the member was invited to that runs at `store` on `on`, or None.
    No query when no sale runs there; else one indexed query."""
    if member_id is None:
        return None
    sales = [s for s in active_sales(on) if s.applies_at(store)]
    if not sales:
        return None
    from .models import Invitation

    invited = set(Invitation.objects.filter(member_id=member_id, event_id__in=[s.event_id for s in sales],
                                            held_out=False).values_list("event_id", flat=True))
    best = max((s for s in sales if s.event_id in invited), key=lambda s: s.discount, default=None)
    return best


def exclusive_sale_discount(member, store, on: dt.date) -> Decimal:
    """The extra discount (a share, 0.10 = 10% off the tier price) for this member at this store on this
    day: an exclusive sale's, for invited members; 0 otherwise."""
    sale = exclusive_sale_for(getattr(member, "pk", None), store, on)
    return sale.discount if sale else ZERO


def _got_the_discount(lines) -> bool:
    return any(not ln.on_promotion and ln.birthday_items < ln.quantity for ln in lines)


class ExclusiveSaleDiscount(Adjustment):
    name, stage, order = "exclusive_sale", "adjustment", 20
    label = gettext_lazy("VIP exclusive sale")

    def quote(self, sale) -> None:
        found = exclusive_sale_for(getattr(sale.member, "pk", None), sale.store, sale.on)
        sale.parts[self.name] = found
        if found is None:
            return
        for ql in sale.lines:
            if not ql.on_promotion:
                ql.unit_prices = [money(price * (1 - found.discount)) for price in ql.unit_prices]

    def commit(self, sale, receipt) -> None:
        """Remember a receipt that received the extra discount (units left after the birthday privilege)."""
        found = sale.parts.get(self.name)
        if found is None or receipt.member_id is None or not _got_the_discount(receipt.posted_lines):
            return
        from .models import EventReceipt

        EventReceipt.objects.create(event_id=found.event_id, receipt=receipt, member_id=receipt.member_id,
                                    discount=found.discount)
