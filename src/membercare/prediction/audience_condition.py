"""The prediction bands as an audience condition (registered into audiences from PredictionConfig.ready):
probability active, expected value or expected purchases in 12 months, at one brand or any."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from membercare.audiences.conditions import G_SEGMENT, ConditionType, Context, Param

from .models import MemberPrediction

MEASURES = {"p_alive": ("p_alive", Decimal("0.01")), "clv": ("clv", Decimal("1")),
            "purchases": ("expected_purchases_12m", Decimal("1"))}


def _measure_choices() -> list[tuple[str, str]]:
    return [("p_alive", str(_("probability active (%)"))), ("clv", str(_("expected value in 12 months (yuan)"))),
            ("purchases", str(_("expected purchases in 12 months")))]


def _brand_choices() -> list[tuple[str, str]]:
    from membercare.org.models import Brand

    return [(str(pk), name) for pk, name in Brand.objects.order_by("code").values_list("pk", "name")]


def prediction_q(params: dict, ctx: Context) -> Q:
    """A prediction of the member (at the brand, or at any brand) within [min, max]; probability in percent."""
    column, scale = MEASURES[params["measure"]]
    rows = MemberPrediction.objects.filter(member=OuterRef("pk"))
    if params.get("brand"):
        rows = rows.filter(brand_id=int(params["brand"]))
    if params.get("min") is not None:
        value = params["min"] * scale
        rows = rows.filter(**{f"{column}__gte": float(value) if column != "clv" else value})
    if params.get("max") is not None:
        value = params["max"] * scale
        rows = rows.filter(**{f"{column}__lte": float(value) if column != "clv" else value})
    return Q(Exists(rows))


def _check(params: dict) -> str | None:
    from membercare.audiences.conditions import _range_check

    return _range_check("min", "max")(params)


CONDITION = ConditionType(
    "prediction", _("Prediction band"), G_SEGMENT, (
        Param("measure", _("measure"), "choice", choices=_measure_choices, default="p_alive"),
        Param("min", _("from"), "decimal", min=Decimal("0"), max=Decimal("100000000"), required=False),
        Param("max", _("to"), "decimal", min=Decimal("0"), max=Decimal("100000000"), required=False),
        Param("brand", _("brand"), "choice", choices=_brand_choices, required=False)),
    prediction_q, check=_check, order=40)
