"""Points a sale earns under the programme: rates by series, the card level's multiplier, dated promotions.

How (the one definition; the sale pipeline's PointsEarned and the tests use it):
- each line's earnable amount is what it paid less its birthday-privilege units (they earn nothing);
- its factor = points per ¥1 of its series (series_points_per_yuan, else points_per_yuan)
  × the card level's multiplier (a tier's points_multiplier; the accumulation card's is the programme's)
  × the multiplier of the best promotion that applies to the line (the highest; promotions never stack);
- what the sale paid without earning (the points offset, stored value's bonus) is taken off every line in
  proportion to its earnable amount;
- points = floor( Σ_factor (Σ earnable of the lines with that factor) × factor × (B − D) / B ), computed
  exactly (B: all earnable amounts, D: what earns nothing, capped at B): whole points, rounded down once, on
  the total — never per line. With one rate and no multiplier this is today's floor((B − D) × points_per_yuan).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .programme import PointsPromotion, Programme

ZERO = Decimal("0")


@dataclass(frozen=True)
class EarnLine:
    series: str  # the product's series code
    amount: Decimal  # paid, less the birthday-privilege units


@dataclass(frozen=True)
class Earning:
    points: int
    multiplier: Decimal  # the card level's
    promotions: tuple[PointsPromotion, ...]  # the promotions that applied to a line with an amount, as listed

    def labels(self, card_label: str) -> list[str]:
        """What raised the points, for the receipt: "会员日双倍积分 ×2", "精英卡 ×1.5"."""
        out = [f"{p.name} ×{_num(p.multiplier)}" for p in self.promotions]
        if self.multiplier != 1:
            out.append(f"{card_label} ×{_num(self.multiplier)}")
        return out


def _num(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def points_earned(programme: Programme, lines: list[EarnLine], *, unearned: Decimal, on: dt.date, card_kind: str,
                  store_code: str) -> Earning:
    """The points of a sale (see the module's docstring for the rule and its rounding)."""
    multiplier = programme.points_multiplier(card_kind)
    by_factor: dict[Decimal, Decimal] = {}
    applied: list[PointsPromotion] = []
    base = ZERO
    for line in lines:
        amount = max(line.amount, ZERO)
        if not amount:
            continue
        promo = programme.best_promotion(on, series=line.series, tier=card_kind, store=store_code)
        factor = programme.points_rate(line.series) * multiplier * (promo.multiplier if promo else 1)
        by_factor[factor] = by_factor.get(factor, ZERO) + amount
        base += amount
        if promo is not None and promo not in applied and factor:
            applied.append(promo)
    if base <= 0:
        return Earning(0, multiplier, ())
    weighted = sum((Fraction(amount) * Fraction(factor) for factor, amount in by_factor.items()), Fraction(0))
    kept = Fraction(base - min(max(unearned, ZERO), base)) / Fraction(base)
    points = math.floor(weighted * kept)
    order = {id(p): i for i, p in enumerate(programme.points_promotions)}
    return Earning(points, multiplier, tuple(sorted(applied, key=lambda p: order.get(id(p), 0))) if points else ())
