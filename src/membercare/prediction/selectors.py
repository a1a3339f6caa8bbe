"""Reads of the prediction app: latest fits per brand, the P(alive) distribution, a member's figures, and the
members of high value whose probability of being active has fallen (the page's list, the care rule's).

Trust: a brand's member probabilities are facts only when its latest fit passed the hold-out check
(PredictionFit.quality "good", prediction.holdout); "unchecked" shows them as estimates, "poor" not at all.
Under BG/NBD a member without repeat purchases has P(alive) = 1 by the model's assumption, not by estimate:
that figure is never shown ("assumed"), so nobody lost for a year shows as certainly active.

"High value, probability fallen" (at_risk_q): at a brand whose check is "good", value if still active
(MemberPrediction.value_active, 12 months) at or above the brand's 80th percentile
(PredictionFit.params["value_cutoff"]), and P(active) either fell by at least AT_RISK_FALL (20 percentage
points) since the previous recompute (MemberPrediction.p_alive_previous, kept by each recompute from the rows
it replaces) or is below AT_RISK_P (0.5 on the page; the care rule's own threshold there). A member without
previous figures (new at the brand, or the first recompute) qualifies by the threshold only.

Scope (at_risk_scope): HQ (the specialist, the administrator) sees every member; a store manager the members
registered at their own stores (Member.home_store); everyone else nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from membercare.core.permissions import can_recompute_predictions, can_work_members, visible_stores
from membercare.org.models import Brand, Role, Staff

from .models import MemberPrediction, PredictionFit

# P(alive) bands of the distribution table: [low, high)
BANDS = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0001)]


AT_RISK_P = 0.5
AT_RISK_FALL = 0.2  # "has fallen": P(active) at least 20 percentage points below the previous recompute's
_ROUNDING = 5e-7  # P(alive) is stored to 6 decimals: a fall of exactly AT_RISK_FALL counts
AT_RISK_PAGE = 50  # members listed per brand on the page


def latest_fit(brand: Brand | int) -> PredictionFit | None:
    return PredictionFit.objects.filter(brand=brand).order_by("-fitted_at", "-pk").first()


def trust(fit: PredictionFit | None) -> str:
    """How a brand's member probabilities may be shown: "fact", "estimate" (not checked) or "hidden"."""
    if fit is None or fit.quality == "poor":
        return "hidden"
    return "fact" if fit.quality == "good" else "estimate"


def latest_fits(brand_id: int | None = None) -> dict[int, PredictionFit]:
    """The latest fit of every brand that has one (or of `brand_id`), in one query that reads only those rows:
    the fits table keeps every weekly recompute (with its parameters), so loading the history to keep the
    newest would grow with the weeks."""
    newest = (PredictionFit.objects.filter(brand_id=OuterRef("brand_id"))
              .order_by("-fitted_at", "-pk").values("pk")[:1])
    rows = PredictionFit.objects.filter(pk=Subquery(newest))
    if brand_id is not None:
        rows = rows.filter(brand_id=brand_id)
    return {fit.brand_id: fit for fit in rows}


def can_see_at_risk(user: Staff) -> bool:
    """The prediction page's list and sending its members on: HQ, and a store manager for their stores."""
    return can_recompute_predictions(user) or (can_work_members(user) and user.role == Role.MANAGER)


def at_risk_scope(user: Staff) -> list[int] | None:
    """The stores whose members' list the user may see: None for HQ (every member), a manager's own store
    ids, an empty list for anyone else."""
    if can_recompute_predictions(user):
        return None
    if can_see_at_risk(user):
        return list(visible_stores(user).values_list("pk", flat=True))
    return []


def at_risk_q(threshold: float = AT_RISK_P, brand: Brand | None = None, fall: float = AT_RISK_FALL) -> Q:
    """MemberPrediction rows of high value whose P(active) is below `threshold` or fell by at least `fall`
    since the previous recompute, at brands checked "good"."""
    q = Q(pk__in=[])
    for brand_id, fit in latest_fits(None if brand is None else brand.pk).items():
        cutoff = (fit.params or {}).get("value_cutoff")
        if trust(fit) == "fact" and cutoff is not None and fit.status != "failed":
            fell = Q(p_alive_previous__isnull=False, p_alive_previous__gte=F("p_alive") + (fall - _ROUNDING))
            q |= Q(brand_id=brand_id, value_active__gte=cutoff) & (Q(p_alive__lt=threshold) | fell)
    return q


def _at_risk_rows(brand: Brand, stores: list[int] | None) -> QuerySet[MemberPrediction]:
    rows = MemberPrediction.objects.filter(at_risk_q(AT_RISK_P, brand))
    return rows if stores is None else rows.filter(member__home_store_id__in=stores)


def at_risk(brand: Brand, limit: int = AT_RISK_PAGE, stores: list[int] | None = None) -> list[MemberPrediction]:
    """The brand's list (members registered at `stores`; None: all), most value at stake first, with each
    member and their relationship owner."""
    rows = (_at_risk_rows(brand, stores).select_related("member", "member__owner")
            .order_by("-value_active", "member_id"))
    return list(rows[:limit])


def at_risk_count(brand: Brand, stores: list[int] | None = None) -> int:
    return _at_risk_rows(brand, stores).count()


def at_risk_member_ids(brand: Brand, user: Staff) -> list[int]:
    """Every member of the brand's list the user may see (at_risk_scope), in id order: the audience a bulk
    send or an event invitation gets when started from the prediction page."""
    stores = at_risk_scope(user)
    if stores is not None and not stores:
        return []
    return sorted(set(_at_risk_rows(brand, stores).values_list("member_id", flat=True)))


def p_alive_distribution(brand: Brand) -> list[dict[str, Any]]:
    """Members per P(alive) band at the brand (one aggregate query)."""
    counts = MemberPrediction.objects.filter(brand=brand).aggregate(
        **{f"b{i}": Count("pk", filter=Q(p_alive__gte=lo, p_alive__lt=hi)) for i, (lo, hi) in enumerate(BANDS)})
    total = sum(counts.values())
    return [{"low": lo, "high": min(hi, 1.0), "count": counts[f"b{i}"],
             "share": (counts[f"b{i}"] * 100 / total) if total else 0} for i, (lo, hi) in enumerate(BANDS)]


def brands_overview(stores: list[int] | None = None) -> list[dict[str, Any]]:
    """Per brand with stores: the latest fit, the P(alive) distribution and the list (members registered at
    `stores`; None: all)."""
    out = []
    for brand in Brand.objects.filter(stores__isnull=False).distinct().order_by("code"):
        fit = latest_fit(brand)
        shown = trust(fit)
        out.append({"brand": brand, "fit": fit, "trust": shown,
                    "distribution": p_alive_distribution(brand) if fit and shown != "hidden" else [],
                    "at_risk": at_risk(brand, stores=stores) if shown == "fact" else [],
                    "at_risk_count": at_risk_count(brand, stores) if shown == "fact" else 0})
    return out


def member_predictions(member_id: int) -> list[MemberPrediction]:
    """The member's figures per brand, each with `trust` ("fact", "estimate", "hidden": see trust())."""
    rows = list(MemberPrediction.objects.filter(member_id=member_id).select_related("brand").order_by("brand__code"))
    fits = latest_fits() if rows else {}
    for row in rows:
        fit = fits.get(row.brand_id)
        shown = trust(fit)
        if shown != "hidden" and fit is not None and fit.model == "bgnbd" and row.frequency == 0:
            shown = "assumed"  # BG/NBD does not estimate it: one-time buyers are active by assumption (P = 1)
        row.trust = shown  # type: ignore[attr-defined]
    return rows
