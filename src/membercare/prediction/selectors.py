"""Reads of the prediction app: latest fits per brand, the P(alive) distribution, a member's figures."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from membercare.org.models import Brand

from .models import MemberPrediction, PredictionFit

# P(alive) bands of the distribution table: [low, high)
BANDS = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0001)]


def latest_fit(brand: Brand) -> PredictionFit | None:
    return PredictionFit.objects.filter(brand=brand).order_by("-fitted_at", "-pk").first()


def p_alive_distribution(brand: Brand) -> list[dict[str, Any]]:
    """Members per P(alive) band at the brand (one aggregate query)."""
    counts = MemberPrediction.objects.filter(brand=brand).aggregate(
        **{f"b{i}": Count("pk", filter=Q(p_alive__gte=lo, p_alive__lt=hi)) for i, (lo, hi) in enumerate(BANDS)})
    total = sum(counts.values())
    return [{"low": lo, "high": min(hi, 1.0), "count": counts[f"b{i}"],
             "share": (counts[f"b{i}"] * 100 / total) if total else 0} for i, (lo, hi) in enumerate(BANDS)]


def brands_overview() -> list[dict[str, Any]]:
    """Per brand with stores: the latest fit and the P(alive) distribution."""
    out = []
    for brand in Brand.objects.filter(stores__isnull=False).distinct().order_by("code"):
        fit = latest_fit(brand)
        out.append({"brand": brand, "fit": fit, "distribution": p_alive_distribution(brand) if fit else []})
    return out


def member_predictions(member_id: int) -> list[MemberPrediction]:
    return list(MemberPrediction.objects.filter(member_id=member_id).select_related("brand").order_by("brand__code"))
