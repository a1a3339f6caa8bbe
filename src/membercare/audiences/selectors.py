"""Reads of audiences: the members a definition or a saved audience gives (a queryset of ids, counted and
sampled in the database), scoped to what the user may see; campaign kinds and their default exclusions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.core.permissions import can_edit_programme, visible_stores
from membercare.members.models import Member
from membercare.org.models import Role, Staff

from .conditions import Context
from .definition import compile_filters, to_json
from .models import Audience, AudienceSnapshotMember

# Seed 004: high-ticket members are never given discounts, low-ticket low-frequency members are left out of the
# next campaign. A campaign kind lists the segment flags (care) its audiences exclude unless the specialist
# ticks to include them. Sends of a promotion template and coupon batches are promotions.
CAMPAIGN_KINDS: dict[str, dict[str, Any]] = {
    "promotion": {"label": _("Promotion or discount"), "excludes": ["high_ticket", "low_ticket_low_freq"]},
}


def default_exclusions(kind: str) -> list[tuple[str, str]]:
    """[(segment flag, label)] a campaign of this kind leaves out by default."""
    from membercare.care.models import SEVEN_SEGMENTS

    labels = dict(SEVEN_SEGMENTS)
    return [(code, str(labels[code])) for code in CAMPAIGN_KINDS.get(kind, {}).get("excludes", [])]


def with_campaign_defaults(definition: dict, kind: str, include: list[str] | tuple[str, ...] = ()) -> dict:
    """The definition with the kind's default exclusions added to its exclude part (OR), except the ones in
    `include` (chosen explicitly)."""
    codes = [code for code, _label in default_exclusions(kind) if code not in set(include or ())]
    if not codes:
        return definition
    exclude = definition.get("exclude") or {"op": "or", "items": []}
    items = [exclude] if exclude.get("items") else []
    items.append({"type": "segment_flag", "params": {"values": codes}})
    return {"include": definition.get("include") or {"op": "and", "items": []},
            "exclude": {"op": "or", "items": items}}


# --------------------------------------------------------------------------------------------- visibility


def is_hq(user: Staff) -> bool:
    return can_edit_programme(user)


def can_use_audiences(user: Staff) -> bool:
    """The builder: HQ (the VIP specialist, the administrator) for the chain, a store manager for their stores."""
    return is_hq(user) or (getattr(user, "is_authenticated", False) and user.is_active
                           and user.role == Role.MANAGER)


def user_store_ids(user: Staff) -> list[int] | None:
    """None: the chain (HQ); else the user's stores."""
    return None if is_hq(user) else sorted(visible_stores(user).values_list("pk", flat=True))


def visible_audiences(user: Staff) -> QuerySet[Audience]:
    """HQ: every audience; a manager: those scoped to stores all of which are theirs."""
    if is_hq(user):
        return Audience.objects.all()
    if not can_use_audiences(user):
        return Audience.objects.none()
    mine = user_store_ids(user) or []
    foreign = Audience.stores.through.objects.filter(audience_id=OuterRef("pk")).exclude(store_id__in=mine)
    scoped = Audience.stores.through.objects.filter(audience_id=OuterRef("pk"))
    return Audience.objects.filter(Exists(scoped)).exclude(Exists(foreign))


# ---------------------------------------------------------------------------------------------- members


def _scope_q(*, brand_id: int | None, store_ids: list[int] | None) -> Q:
    from membercare.loyalty.models import Card

    q = Q()
    if store_ids is not None:
        q &= Q(home_store_id__in=store_ids)
    if brand_id is not None:  # members the brand knows: registered at its stores or holding its card
        q &= Q(home_store__brand_id=brand_id) | Q(Exists(Card.objects.filter(member=OuterRef("pk"),
                                                                             brand_id=brand_id)))
    return q


def members_queryset(definition: dict, *, brand_id: int | None = None, store_ids: list[int] | None = None,
                     today: dt.date | None = None) -> QuerySet[Member]:
    """The members of a definition (validated; DefinitionError otherwise) within the scope, unordered."""
    include, keep = compile_filters(definition, Context(today or timezone.localdate()))
    qs = Member.objects.filter(_scope_q(brand_id=brand_id, store_ids=store_ids))
    if include is not None:
        qs = qs.filter(include)
    if keep is not None:  # NOT exclude, as NOT EXISTS terms the planner turns into anti-joins
        qs = qs.filter(keep)
    return qs.order_by()


def _scope_of(audience: Audience) -> tuple[int | None, list[int] | None]:
    stores = sorted(audience.stores.values_list("pk", flat=True)) if audience.pk else []
    return audience.brand_id, (stores or None)


def _intersect(a: list[int] | None, b: list[int] | None) -> list[int] | None:
    if a is None:
        return b
    if b is None:
        return a
    return sorted(set(a) & set(b))


def audience_members(audience_or_definition: Audience | dict, *, user: Staff | None = None,
                     today: dt.date | None = None, campaign_kind: str = "",
                     include: list[str] | tuple[str, ...] = ()) -> QuerySet:
    """A queryset of the member ids the audience (or a bare definition) gives: the audience's own scope (brand,
    stores), narrowed to the user's stores for a user who is not HQ, with a campaign kind's default exclusions
    (except those in `include`)."""
    if isinstance(audience_or_definition, Audience):
        definition = audience_or_definition.definition
        brand_id, store_ids = _scope_of(audience_or_definition)
    else:
        definition, brand_id, store_ids = audience_or_definition, None, None
    if user is not None:
        store_ids = _intersect(store_ids, user_store_ids(user))
    if campaign_kind:
        definition = with_campaign_defaults(definition, campaign_kind, include)
    return members_queryset(definition, brand_id=brand_id, store_ids=store_ids, today=today).values_list(
        "pk", flat=True)


def count_members(qs: QuerySet) -> int:
    """COUNT of an audience's queryset. On PostgreSQL without JIT compilation for this one statement: the plan of a
    count over 1,000,000 members is costed high enough to be JIT-compiled, which took longer than the query
    (bench/bench_audience.py: 7.3 s → 4.3 s for an exclude-only definition on a loaded machine)."""
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        return qs.count()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL jit = off")
        return qs.count()


def audience_count(audience_or_definition: Audience | dict, **kwargs) -> int:
    return count_members(audience_members(audience_or_definition, **kwargs))


def audience_sample(audience_or_definition: Audience | dict, n: int = 10, **kwargs) -> list[dict]:
    """Up to n members (lowest member numbers first): name, member number, masked phone, store."""
    from membercare.core.phone import mask_phone

    n = max(0, min(int(n), 50))
    ids = audience_members(audience_or_definition, **kwargs)
    rows = (Member.objects.filter(pk__in=ids).order_by("pk")
            .values("pk", "name", "member_no", "phone", "gender", "home_store__name")[:n])
    return [{"pk": r["pk"], "name": r["name"], "member_no": r["member_no"], "phone": mask_phone(r["phone"]),
             "gender": r["gender"], "store": r["home_store__name"]} for r in rows]


def care_audience_members(audience_id: int, day: dt.date) -> QuerySet | None:
    """For care's hook (care.festivals): the member ids of a saved audience on `day` in its own scope, or None
    when it no longer exists."""
    audience = Audience.objects.filter(pk=audience_id).first()
    return None if audience is None else audience_members(audience, today=day)


def care_audience_name(audience_id: int) -> str | None:
    return Audience.objects.filter(pk=audience_id).values_list("name", flat=True).first()


def export_audience_members(user: Staff, audience_id: int) -> QuerySet:
    """For the member export (members.exports' "audience" filter): the ids of a saved audience the user may use,
    narrowed to the user's stores; PermissionDenied for one they may not."""
    from django.core.exceptions import PermissionDenied

    audience = visible_audiences(user).filter(pk=audience_id).first()
    if audience is None:
        raise PermissionDenied
    return audience_members(audience, user=user)


def snapshot_members(snapshot_id: int) -> Q:
    """A filter on Member: the members frozen in a snapshot."""
    return Q(Exists(AudienceSnapshotMember.objects.filter(snapshot_id=snapshot_id, member_id=OuterRef("pk"))))


def stored(definition: dict) -> dict:
    return to_json(definition)
