"""What every measure shares: the scope (stores and a period of local days), money in yuan, rates, percents and
weeks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q

CENT = Decimal("0.01")
VIP_SHARE_TARGET = Decimal("0.5")  # the playbook (seed 001): members' sales should be over half of all sales
ACTIVE_BASE = ("new", "active", "dormant")
CHURNED = ("sleeping", "lost")


@dataclass(frozen=True)
class Scope:
    store_ids: tuple[int, ...] | None  # None: the chain
    start: dt.date
    end: dt.date

    def stores_q(self, field: str = "store_id") -> Q:
        return Q() if self.store_ids is None else Q(**{f"{field}__in": list(self.store_ids)})


def money(cents: int | None) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def rate(part: int | Decimal | None, whole: int | Decimal | None, places: str = "0.0001") -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part or 0) / Decimal(whole)).quantize(Decimal(places))


def percent(value: Decimal | None) -> Decimal | None:
    """A share as a percentage with one decimal, half up (0.8125 -> 81.3)."""
    return None if value is None else (value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())
