"""Items on promotion at the price the POS gives them: sales' provider of the sale pipeline (sales.pipeline;
registered in SalesConfig.ready, the first adjustment). Such units keep that price: no card discount, no
exclusive-sale discount, no birthday privilege, no coupon (those providers skip units on promotion)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from .pipeline import Adjustment


class PromotionPrice(Adjustment):
    name, stage, order = "promotion", "adjustment", 5
    label = gettext_lazy("Items on promotion")
    member_only = False  # a walk-in customer pays the promotion price too

    def quote(self, sale) -> None:
        for ql in sale.lines:
            if ql.on_promotion and ql.promo_price is not None:
                ql.unit_prices = [ql.promo_price] * ql.quantity
