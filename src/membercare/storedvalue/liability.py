"""The stored-value liability (deferred revenue) and its movements, from the ledger, in SQL.

- Outstanding principal and bonus as of the end of a local day (Asia/Shanghai) = the sum of the ledger entries
  made up to then: chain-wide, per scope (the card's brand code, or "" for a chain card) and per store. A
  store's figure is what its entries left owing: its top-ups and returns minus the spends and refunds made
  there — money taken at one store and spent at another moves liability between them, so a store's figure
  can be negative while the chain's and each scope's never are (they are sums of whole cards' balances; the
  chain's total is always the sum of the balances). A negative store figure is not an error: it is the
  liability that store's counter created (docs/stored-value.md). Entries without a store (a transfer or
  refund made from HQ) are under store None.
- Movements per day and kind (top-ups, spends, returns, refunds, forfeits, transfers) in principal and bonus.
- Revenue recognised when spent: the principal spent less the principal given back on returns (the bonus
  spent is a discount the chain gave, shown apart as bonus used).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from membercare.core.days import day_bounds

from .models import EntryKind, StoredValueEntry

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MOVEMENT_KINDS = [k for k, _label in EntryKind.choices]


def _m(value) -> Decimal:
    return (value or ZERO).quantize(CENT)


@dataclass(frozen=True)
class Outstanding:
    principal: Decimal
    bonus: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.bonus


def _entries(store_ids: Iterable[int] | None) -> QuerySet[StoredValueEntry]:
    entries = StoredValueEntry.objects.all()
    if store_ids is not None:
        entries = entries.filter(store_id__in=list(store_ids))
    return entries


def _until(day: dt.date) -> dt.datetime:
    return day_bounds(day, day)[1]


def outstanding(day: dt.date, *, store_ids: Iterable[int] | None = None) -> Outstanding:
    """Principal and bonus owed at the end of `day` (chain-wide, or what the given stores' entries left)."""
    sums = _entries(store_ids).filter(created_at__lt=_until(day)).aggregate(p=Sum("principal"), b=Sum("bonus"))
    return Outstanding(_m(sums["p"]), _m(sums["b"]))


def outstanding_by_store(day: dt.date, *, store_ids: Iterable[int] | None = None) -> dict[int | None, Outstanding]:
    """{store id (None: no store): outstanding} at the end of `day`, one GROUP BY in the database."""
    rows = (_entries(store_ids).filter(created_at__lt=_until(day)).values("store_id")
            .annotate(p=Sum("principal"), b=Sum("bonus")).order_by())
    return {r["store_id"]: Outstanding(_m(r["p"]), _m(r["b"])) for r in rows}


def outstanding_by_scope(day: dt.date, *, store_ids: Iterable[int] | None = None) -> dict[str, Outstanding]:
    """{card scope ("" the chain's cards, else a brand code): outstanding} at the end of `day`."""
    rows = (_entries(store_ids).filter(created_at__lt=_until(day)).values("card__scope")
            .annotate(p=Sum("principal"), b=Sum("bonus")).order_by())
    return {r["card__scope"]: Outstanding(_m(r["p"]), _m(r["b"])) for r in rows}


@dataclass
class DayMovements:
    day: dt.date
    principal: dict[str, Decimal] = field(default_factory=dict)  # kind -> signed sum
    bonus: dict[str, Decimal] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)

    def p(self, kind: str) -> Decimal:
        return self.principal.get(kind, ZERO)

    def b(self, kind: str) -> Decimal:
        return self.bonus.get(kind, ZERO)

    @property
    def top_ups(self) -> Decimal:
        """Money paid in (principal) — the bonus given with it is in `b("top_up")`."""
        return self.p(EntryKind.TOP_UP)

    @property
    def spends(self) -> Decimal:
        """Stored value spent at checkouts (principal and bonus), as a positive amount."""
        return -(self.p(EntryKind.SPEND) + self.b(EntryKind.SPEND))

    @property
    def returns(self) -> Decimal:
        return self.p(EntryKind.RETURN) + self.b(EntryKind.RETURN)

    @property
    def refunds(self) -> Decimal:
        """Principal paid back to members, as a positive amount."""
        return -self.p(EntryKind.REFUND)

    @property
    def forfeits(self) -> Decimal:
        return -self.b(EntryKind.FORFEIT)

    @property
    def recognised(self) -> Decimal:
        """Revenue recognised: principal spent less principal returned to cards."""
        return -(self.p(EntryKind.SPEND) + self.p(EntryKind.RETURN))

    @property
    def bonus_used(self) -> Decimal:
        return -(self.b(EntryKind.SPEND) + self.b(EntryKind.RETURN))

    @property
    def net_change(self) -> Decimal:
        return sum(self.principal.values(), ZERO) + sum(self.bonus.values(), ZERO)


def movements(start: dt.date, end: dt.date, *, store_ids: Iterable[int] | None = None) -> list[DayMovements]:
    """One DayMovements per local day of [start, end] (days without an entry included), grouped in SQL."""
    lo, hi = day_bounds(start, end)
    rows = (_entries(store_ids).filter(created_at__gte=lo, created_at__lt=hi)
            .annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
            .values("day", "kind").annotate(p=Sum("principal"), b=Sum("bonus"), n=Count("id")).order_by())
    days: dict[dt.date, DayMovements] = {}
    day = start
    while day <= end:
        days[day] = DayMovements(day)
        day += dt.timedelta(days=1)
    for r in rows:
        d = r["day"] if isinstance(r["day"], dt.date) else dt.date.fromisoformat(str(r["day"])[:10])
        m = days[d]
        m.principal[r["kind"]], m.bonus[r["kind"]], m.count[r["kind"]] = _m(r["p"]), _m(r["b"]), r["n"]
    return list(days.values())


def period_totals(start: dt.date, end: dt.date, *, store_ids: Iterable[int] | None = None) -> dict[str, Decimal]:
    """Top-ups (principal paid in), spends, refunds and revenue recognised in [start, end] — the dashboard's
    tile and the finance page read this one definition."""
    lo, hi = day_bounds(start, end)
    k = EntryKind
    s = _entries(store_ids).filter(created_at__gte=lo, created_at__lt=hi).aggregate(
        top_ups=Sum("principal", filter=Q(kind=k.TOP_UP)),
        spend_p=Sum("principal", filter=Q(kind=k.SPEND)), spend_b=Sum("bonus", filter=Q(kind=k.SPEND)),
        return_p=Sum("principal", filter=Q(kind=k.RETURN)),
        refunds=Sum("principal", filter=Q(kind=k.REFUND)))
    return {"top_ups": _m(s["top_ups"]), "spends": _m(-_m(s["spend_p"]) - _m(s["spend_b"])),
            "refunds": _m(-_m(s["refunds"])), "recognised": _m(-_m(s["spend_p"]) - _m(s["return_p"]))}


def finance_day(day: dt.date, *, store_ids: list[int] | None = None) -> dict:
    """What the finance page and its .xlsx show for `day`: the liability at the end of the day per store
    (store_ids: a manager's stores; None: the chain, entries without a store included) and per scope, the
    day's movements per kind and the revenue recognised. Money in yuan, 2 places."""
    from membercare.org.models import Brand, Store

    by_store = outstanding_by_store(day, store_ids=store_ids)
    names = dict(Store.objects.filter(pk__in=[k for k in by_store if k is not None]).values_list("pk", "name"))
    codes = dict(Store.objects.filter(pk__in=[k for k in by_store if k is not None]).values_list("pk", "code"))
    stores = sorted(({"store_id": k, "code": codes.get(k, ""), "name": names.get(k, ""), "principal": o.principal,
                      "bonus": o.bonus, "total": o.total} for k, o in by_store.items()),
                    key=lambda r: (r["store_id"] is None, r["code"]))
    by_scope = outstanding_by_scope(day, store_ids=store_ids)
    brands = dict(Brand.objects.filter(code__in=[k for k in by_scope if k]).values_list("code", "name"))
    scopes = sorted(({"scope": k, "name": brands.get(k, k), "principal": o.principal, "bonus": o.bonus,
                      "total": o.total} for k, o in by_scope.items()), key=lambda r: r["scope"])
    moved = movements(day, day, store_ids=store_ids)[0]
    kinds = [{"kind": k, "label": label, "principal": moved.p(k), "bonus": moved.b(k), "count": moved.count.get(k, 0)}
             for k, label in EntryKind.choices]
    total = outstanding(day, store_ids=store_ids)
    return {"day": day, "stores": stores, "scopes": scopes, "total": total, "kinds": kinds, "moved": moved,
            "totals": period_totals(day, day, store_ids=store_ids)}
