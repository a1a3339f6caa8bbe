"""Reading stored value: a member's cards and balances, a card's ledger, the chain's liability."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import QuerySet, Sum

from .models import CardState, StoredValueCard, StoredValueEntry, StoredValueRefund, StoredValueSettings

ZERO = Decimal("0.00")


def member_cards(member_id: int) -> QuerySet[StoredValueCard]:
    """The member's live cards (active or frozen), one per scope."""
    return StoredValueCard.objects.filter(member_id=member_id).exclude(status=CardState.CLOSED).order_by("scope")


def card_entries(card: StoredValueCard, *, limit: int = 50) -> QuerySet[StoredValueEntry]:
    return (StoredValueEntry.objects.filter(card=card).select_related("receipt", "method", "store", "operator")
            .order_by("-created_at", "-pk")[:limit])


def ledger_sums(card: StoredValueCard) -> tuple[Decimal, Decimal]:
    """(principal, bonus) summed over the card's ledger: always equal to the card's balances."""
    sums = StoredValueEntry.objects.filter(card=card).aggregate(p=Sum("principal"), b=Sum("bonus"))
    return (sums["p"] or ZERO).quantize(Decimal("0.01")), (sums["b"] or ZERO).quantize(Decimal("0.01"))


def liability() -> Decimal:
    """What the chain owes its members on stored value: the sum of every card's balance."""
    sums = StoredValueCard.objects.aggregate(p=Sum("principal"), b=Sum("bonus"))
    return ((sums["p"] or ZERO) + (sums["b"] or ZERO)).quantize(Decimal("0.01"))


def pending_refunds() -> QuerySet[StoredValueRefund]:
    return StoredValueRefund.objects.filter(status="pending").select_related("card__member", "store", "requested_by")


def member_entries(member_id: int) -> QuerySet[StoredValueEntry]:
    """Every movement on the member's cards (closed ones included), newest first."""
    return (StoredValueEntry.objects.filter(member_id=member_id)
            .select_related("card", "receipt", "method", "store").order_by("-created_at", "-pk"))


def member_stored_value_events(member, limit: int) -> list:
    """The member timeline's source (registered in apps.ready): each movement of stored value."""
    from django.utils.translation import gettext as _

    from membercare.core.timeline import TimelineEvent

    events = []
    for e in member_entries(member.pk)[:limit]:
        title = _("%(kind)s ¥%(amount)s (principal ¥%(principal)s, bonus ¥%(bonus)s), card %(card)s") % {
            "kind": e.get_kind_display(), "amount": e.amount, "principal": e.principal, "bonus": e.bonus,
            "card": e.card.number}
        extra = {"store_id": e.store_id}
        if e.receipt_id:
            extra.update(receipt=e.receipt.number, receipt_id=e.receipt_id)
        events.append(TimelineEvent(at=e.created_at, kind="stored_value", title=title,
                                    detail=" · ".join(x for x in (e.store.name if e.store_id else "", e.reason) if x),
                                    extra=extra))
    return events


# ------------------------------------------------------------------------------------------- the refund queue


def refunds_visible(user) -> QuerySet[StoredValueRefund]:
    """The refund requests `user` may read: HQ (VIP specialist, administrator) the chain's; a store manager
    those asked at their stores; anyone else none. Each with the card's principal and bonus when it was asked
    (`principal_at_request`, `bonus_at_request`: the card's ledger up to that moment, never edited)."""
    from django.db.models import DecimalField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    from membercare.core.permissions import can_edit_programme, can_see_stored_value_books, visible_stores

    refunds = StoredValueRefund.objects.select_related("card__member", "store", "requested_by", "decided_by",
                                                       "method")
    if not can_see_stored_value_books(user):
        return refunds.none()
    if not can_edit_programme(user):
        refunds = refunds.filter(store__in=visible_stores(user))
    # the member's ledger in the card's scope up to the request: the card's balance then, even after a lost
    # card moved the request to its replacement (a move nets to zero across the two cards)
    upto = StoredValueEntry.objects.filter(member=OuterRef("card__member"), card__scope=OuterRef("card__scope"),
                                           created_at__lte=OuterRef("requested_at"))
    money = DecimalField(max_digits=14, decimal_places=2)

    def summed(column: str) -> Coalesce:
        total = upto.order_by().values("member").annotate(s=Sum(column)).values("s")
        return Coalesce(Subquery(total, output_field=money), Value(ZERO), output_field=money)

    return refunds.annotate(principal_at_request=summed("principal"), bonus_at_request=summed("bonus"))


def refunds_pending(user) -> QuerySet[StoredValueRefund]:
    """The requests awaiting HQ's decision, oldest first (the order they are worked in)."""
    return refunds_visible(user).filter(status="pending").order_by("requested_at", "pk")


def refunds_decided(user, *, status: str = "", store_id: int | None = None,
                    month: tuple[int, int] | None = None) -> QuerySet[StoredValueRefund]:
    """The decided requests, newest decision first, filtered by status, store and the month decided."""
    refunds = refunds_visible(user).exclude(status="pending")
    if status:
        refunds = refunds.filter(status=status)
    if store_id:
        refunds = refunds.filter(store_id=store_id)
    if month:
        refunds = refunds.filter(decided_at__year=month[0], decided_at__month=month[1])
    return refunds.order_by("-decided_at", "-pk")


def card_refunds(card: StoredValueCard, *, limit: int = 3) -> list[StoredValueRefund]:
    """The card's latest refund requests (the pending one first), for the member's panel."""
    return list(StoredValueRefund.objects.filter(card=card).select_related("requested_by", "decided_by", "method")
                .order_by("-requested_at", "-pk")[:limit])


# ------------------------------------------------------------------------------------ the rules' versions


def _flat(document: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _choice_labels() -> dict[str, object]:
    from django.utils.translation import gettext_lazy as _

    return {"scope:chain": _("One card for the whole chain"), "scope:brand": _("One card per brand"),
            "spend_order:proportional": _("Principal and bonus in the ratio of the balances"),
            "spend_order:principal_first": _("Principal first, then the bonus"),
            "spend_order:bonus_first": _("Bonus first, then the principal"),
            "points_on:principal": _("On the principal part only (the bonus earns none)"),
            "points_on:all": _("On the whole payment"), "points_on:none": _("None")}


def describe_setting(path: str, value) -> str:
    """A setting's value as the rules page shows it (a tier as 充1,000送100 with its levels and period)."""
    from django.utils.translation import gettext as _

    if value is None or value == "":
        return "—"
    if path == "bonus_tiers":
        return "; ".join(describe_tier(t) for t in value) or _("none")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or _("none")
    if path in ("scope", "spend_order", "points_on"):
        return str(_choice_labels().get(f"{path}:{value}", value))
    return str(value)


def describe_tier(tier: dict) -> str:
    from django.utils.translation import gettext as _

    from membercare.loyalty.programme import card_label

    text = _("top up ¥%(amount)s, bonus ¥%(bonus)s") % {"amount": tier.get("min_amount"), "bonus": tier.get("bonus")}
    levels = [card_label(str(t)) for t in tier.get("tiers") or []]
    if levels:
        text += " (" + ", ".join(levels) + ")"
    if tier.get("from") or tier.get("until"):
        text += " " + _("%(start)s to %(end)s") % {"start": tier.get("from") or "…", "end": tier.get("until") or "…"}
    return text


def rules_history(*, limit: int = 50) -> list[tuple[StoredValueSettings, list[tuple[str, str, str]]]]:
    """The rules' versions, newest first, each with what it changed against the one before (setting's name,
    old, new), both merged over the defaults."""
    from .rules import DEFAULTS, field_label, merge

    versions = list(StoredValueSettings.objects.select_related("created_by").order_by("-created_at", "-pk")[:limit + 1])
    out = []
    for i, version in enumerate(versions[:limit]):
        before = merge(DEFAULTS, versions[i + 1].params) if i + 1 < len(versions) else DEFAULTS
        old, new = _flat(before), _flat(merge(DEFAULTS, version.params))
        changes = [(field_label(path), describe_setting(path, old.get(path)), describe_setting(path, new.get(path)))
                   for path in new if new.get(path) != old.get(path)]
        out.append((version, changes))
    return out
