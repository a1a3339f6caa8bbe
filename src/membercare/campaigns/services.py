"""Coupon writes: define a batch, issue it to an audience (with a hold-out group and a message), expire coupons.

Redemption at checkout is in campaigns.redeem (called by checkout.pipeline).

Decisions (DOMAIN.md "Campaigns and rewards" leaves them open):
- one coupon per member per batch; a member already given one (or held out) by an earlier issue of the batch is
  skipped, so issuing the same segment twice does not double anything;
- the hold-out group is drawn per issue: the audience is ordered by a hash of (issue seed, member id) and the
  first round(n x share) members are held out — random, reproducible from the recorded seed, an exact share;
- the message is a bulk send of the batch's template to the members who got a coupon, through the messaging
  machinery (consent, opt-outs, quiet hours, weekly cap); {coupon_code} and {coupon_until} fill in per member.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, can_work_members, visible_stores
from membercare.members.models import Member
from membercare.org.models import Brand, Role, Staff

from .codes import new_code
from .models import Coupon, CouponBatch, CouponHoldout, CouponIssue

MAX_HOLDOUT = Decimal("0.5")
MAX_LIST = 5000


# ------------------------------------------------------------------------------------------ permissions


def can_run_campaigns(user: Staff) -> bool:
    """Define and issue coupons: the VIP specialist and the admin."""
    return can_edit_programme(user)


def can_see_campaign_results(user: Staff) -> bool:
    """Campaign results: HQ for the chain, a store manager for their own stores."""
    return can_run_campaigns(user) or (can_work_members(user) and user.role == Role.MANAGER)


def results_stores(user: Staff):
    """None: the whole chain (HQ); else the stores whose results the user sees (their members)."""
    return None if can_run_campaigns(user) else visible_stores(user)


# ------------------------------------------------------------------------------------------------ batch


def _decimal(errors: dict, field: str, value, *, low: Decimal = Decimal("0")) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number < low or number > Decimal("1000000"):
        errors.setdefault(field, []).append(_("Give an amount of %(low)s or more.") % {"low": low})
        return None
    return number.quantize(Decimal("0.01"))


@transaction.atomic
def batch_create(*, by: Staff | None, name: str, brand: Brand, kind: str, value, valid_from: dt.date,
                 valid_to: dt.date, min_spend=0, skus: list[str] | None = None, series=(),
                 stacks_with_tier: bool = False, template=None) -> CouponBatch:
    """A coupon batch; every problem is reported at once, per field, and nothing is written."""
    from membercare.sales.models import Product

    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = [_("The name is required.")]
    if kind not in CouponBatch.Kind.values:
        errors["kind"] = [_("Choose amount off or percentage off.")]
    amount = _decimal(errors, "value", value, low=Decimal("0.01"))
    if amount is not None and kind == CouponBatch.Kind.PERCENT and amount >= 100:
        errors.setdefault("value", []).append(_("A percentage off must be below 100."))
    minimum = _decimal(errors, "min_spend", min_spend or 0)
    if valid_from and valid_to and valid_to < valid_from:
        errors["valid_to"] = [_("The coupon must end on or after the day it starts.")]
    skus = sorted({s.strip().upper() for s in skus or [] if s.strip()})
    if skus:
        known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
        unknown = [s for s in skus if s not in known]
        if unknown:
            errors["skus"] = [_("Unknown SKUs: %(skus)s.") % {"skus": "、".join(unknown)}]
    if template is not None and not template.is_active:
        errors["template"] = [_("This template is not active.")]
    if errors:
        raise ValidationError(errors)
    batch = CouponBatch.objects.create(
        name=name.strip(), brand=brand, kind=kind, value=amount, min_spend=minimum, skus=skus, valid_from=valid_from,
        valid_to=valid_to, stacks_with_tier=stacks_with_tier, template=template, created_by=by,
        created_at=timezone.now())
    if series:
        batch.series.set(series)
    return batch


# ------------------------------------------------------------------------------------------------ issue


def members_from_list(text: str) -> tuple[list[int], list[str]]:
    """A pasted list of phones or card numbers (one per line, or separated by commas or spaces) →
    (member ids in the order given, each once; the entries that match nobody)."""
    from membercare.core.phone import normalize_phone
    from membercare.loyalty.models import Card, normalize_card_number

    entries = [e for e in re.split(r"[\s,，;；、]+", text or "") if e]
    ids: list[int] = []
    unknown: list[str] = []
    phones: dict[str, str] = {}
    cards: dict[str, str] = {}
    for entry in entries:
        try:
            phones[normalize_phone(entry)] = entry
        except ValidationError:
            cards[normalize_card_number(entry)] = entry
    by_phone = dict(Member.objects.filter(phone__in=list(phones)).values_list("phone", "pk"))
    by_card = dict(Card.objects.filter(number__in=list(cards)).values_list("number", "member_id"))
    for phone, entry in phones.items():
        (ids.append(by_phone[phone]) if phone in by_phone else unknown.append(entry))
    for number, entry in cards.items():
        (ids.append(by_card[number]) if number in by_card else unknown.append(entry))
    return list(dict.fromkeys(ids)), unknown


def holdout_order(seed: str, member_id: int) -> bytes:
    return hashlib.sha256(f"{seed}:{member_id}".encode()).digest()


def draw_holdout(member_ids: list[int], share: Decimal, seed: str) -> set[int]:
    """The hold-out group: round(n x share) members, the first by hash of (seed, id). Same seed, same group."""
    n = int((len(member_ids) * share).to_integral_value())
    return set(sorted(member_ids, key=lambda pk: holdout_order(seed, pk))[:n])


def issue_preview(*, batch: CouponBatch, audience: dict, holdout_share: Decimal) -> dict:
    """How many the audience has, how many already have a coupon of this batch (or were held out), and how
    many would be held out and get a coupon. Counted in the database."""
    from membercare.messaging.bulk import audience_queryset

    qs = audience_queryset(_as_promotion(audience))
    total = qs.count()
    already = (qs.filter(coupons__batch=batch).count()
               + CouponHoldout.objects.filter(batch=batch, member__in=qs.values("pk")).count())
    fresh = total - already
    held = int((fresh * Decimal(holdout_share)).to_integral_value())
    return {"total": total, "already": already, "holdout": held, "issue": fresh - held}


def _as_promotion(audience: dict) -> dict:
    """A coupon is a discount: a saved audience used for it carries seed 004's promotion exclusions (high ticket,
    low ticket low frequency) unless the specialist included them (audience["include_segments"])."""
    return {**audience, "campaign_kind": "promotion"} if audience.get("saved_audience") else audience


def _check_issue(batch: CouponBatch, audience: dict, holdout_share, on: dt.date) -> Decimal:
    errors: dict[str, list[str]] = {}
    try:
        share = Decimal(str(holdout_share))
    except (InvalidOperation, ValueError):
        share = Decimal("-1")
    if not share.is_finite() or share < 0 or share > MAX_HOLDOUT:
        errors["holdout_share"] = [_("The hold-out share must be between 0%% and %(max)d%%.") % {
            "max": int(MAX_HOLDOUT * 100)}]
    if batch.valid_to < on:
        errors["__all__"] = [_("This batch ended on %(date)s: coupons can no longer be issued.") % {
            "date": batch.valid_to.isoformat()}]
    if not audience:
        errors["audience"] = [_("Choose a segment or paste a list of members.")]
    if errors:
        raise ValidationError(errors)
    return share


def coupon_issue(*, batch: CouponBatch, audience: dict, holdout_share, by: Staff | None,
                 send_message: bool = False, template=None, at: dt.datetime | None = None,
                 seed: str | None = None) -> CouponIssue:
    """Give one coupon to every member of `audience` (messaging.bulk.audience_queryset: a segment, or
    {"member_ids": [...]} from a pasted list) who has none of this batch yet, except the hold-out group, which
    is recorded and receives nothing. With `send_message`, a bulk send of the template (the batch's by
    default) to those who got one, scheduled at once. One transaction: all or nothing."""
    from membercare.messaging.bulk import audience_queryset

    at = at or timezone.now()
    share = _check_issue(batch, audience, holdout_share, timezone.localtime(at).date())
    template = template or batch.template
    if send_message and template is None:
        raise ValidationError({"template": [_("Choose the message template for the coupon.")]})
    seed = seed or secrets.token_hex(8)
    with transaction.atomic():
        CouponBatch.objects.select_for_update().filter(pk=batch.pk).first()  # one issue of a batch at a time
        from membercare.messaging.bulk import freeze_saved_audience

        audience = freeze_saved_audience(_as_promotion(audience), by=by)  # the member list frozen now
        qs = audience_queryset(audience)
        all_ids = list(qs.values_list("pk", flat=True))
        taken = set(Coupon.objects.filter(batch=batch, member_id__in=all_ids).values_list("member_id", flat=True))
        taken |= set(CouponHoldout.objects.filter(batch=batch, member_id__in=all_ids)
                     .values_list("member_id", flat=True))
        fresh = [pk for pk in all_ids if pk not in taken]
        if not fresh:
            raise ValidationError({"audience": [_("Nobody in this audience is left without a coupon of this "
                                                  "batch.")]})
        held = draw_holdout(fresh, share, seed)
        issue = CouponIssue.objects.create(batch=batch, audience=audience, holdout_share=share, seed=seed,
                                           issued=len(fresh) - len(held), held_out=len(held), skipped=len(taken),
                                           issued_by=by, issued_at=at)
        CouponHoldout.objects.bulk_create([CouponHoldout(batch=batch, issue=issue, member_id=pk)
                                           for pk in fresh if pk in held], batch_size=1000)
        _insert_coupons(batch, issue, [pk for pk in fresh if pk not in held], at)
        if send_message and issue.issued:
            from membercare.messaging.bulk import bulk_schedule

            issue.bulk = bulk_schedule(name=batch.name, template=template, audience={"coupon_issue": issue.pk},
                                       scheduled_at=at, by=by)
            issue.save(update_fields=["bulk"])
    return issue


def _insert_coupons(batch: CouponBatch, issue: CouponIssue, member_ids: list[int], at: dt.datetime) -> None:
    """One coupon per member, each with a fresh code; a code that collides (54 random bits: practically
    never) is drawn again."""
    for start in range(0, len(member_ids), 1000):
        chunk = member_ids[start:start + 1000]
        for attempt in range(5):
            try:
                with transaction.atomic():
                    Coupon.objects.bulk_create([Coupon(batch=batch, issue=issue, member_id=pk, code=new_code(),
                                                       issued_at=at) for pk in chunk])
                break
            except IntegrityError:
                if attempt == 4:
                    raise


# ----------------------------------------------------------------------------------------------- expiry


def coupons_expire(day: dt.date | None = None) -> int:
    """The daily step: coupons not used by the end of their batch's last day are marked expired on the day
    after it. Idempotent. (Redemption checks the dates itself: an unmarked coupon past its date is refused too.)"""
    day = day or timezone.localdate()
    ended = CouponBatch.objects.filter(valid_to__lt=day).values("pk")
    return Coupon.objects.filter(batch__in=ended, redeemed_at__isnull=True, expired_on__isnull=True).update(
        expired_on=day)
