"""Referrals (老带新): each member's code, who brought whom, and the reward on the new member's first purchase.

- A code is 6 characters from an alphabet without look-alikes (no 0/O, 1/I/L), made on first need and unique.
- A referral is recorded at registration (the optional code on the form), or later for a member who has not
  bought yet. Refused: an unknown code, one's own code, a member already referred, a member who already
  bought, and any circle (A brought B, so B cannot bring A; nor can any longer chain close on itself).
- The reward (points to both, the loyalty programme's "referral" rule) is claimed by ONE statement on the
  referred member's sale (sales.signals.sale_posted, inside the sale's transaction): UPDATE the pending
  referral SET rewarded_at ... WHERE rewarded_at IS NULL RETURNING it. When the buyer has no pending
  referral that statement touches nothing (the unique index on `referred`), and two concurrent first
  purchases cannot both claim it: the second waits for the row and then finds it rewarded.
"""

from __future__ import annotations

import json
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.members.models import Member
from membercare.org.models import Staff

from .models import Referral, ReferralCode

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0 O 1 I L
CODE_LENGTH = 6


def normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def referral_code_for(member: Member | int) -> str:
    """The member's referral code, made (unique) on first need."""
    member_id = member if isinstance(member, int) else member.pk
    existing = ReferralCode.objects.filter(member_id=member_id).values_list("code", flat=True).first()
    if existing:
        return existing
    for _attempt in range(10):
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with transaction.atomic():
                ReferralCode.objects.create(member_id=member_id, code=code, created_at=timezone.now())
            return code
        except IntegrityError:  # the code is taken, or a concurrent call made this member's code
            existing = ReferralCode.objects.filter(member_id=member_id).values_list("code", flat=True).first()
            if existing:
                return existing
    raise RuntimeError("could not find a free referral code")


def _refuse(message: str) -> ValidationError:
    return ValidationError({"referral_code": [message]})


def _closes_circle(referrer_id: int, referred_id: int) -> bool:
    """Would referrer -> referred close a circle, i.e. is `referred` already up the referrer's chain?
    One recursive query up the chain of referrers."""
    table = Referral._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"WITH RECURSIVE up(member_id, depth) AS (SELECT CAST(%s AS BIGINT), 0 UNION ALL "
            f"SELECT r.referrer_id, up.depth + 1 FROM {table} r JOIN up ON r.referred_id = up.member_id "
            f"WHERE up.depth < 1000) SELECT 1 FROM up WHERE member_id = %s LIMIT 1", [referrer_id, referred_id])
        return cur.fetchone() is not None


def record_on_registration(sender: type[Member], *, member: Member, code: str, by: Staff | None = None,
                           **kwargs: object) -> None:
    """members.signals.member_referred receiver: a member registered with a referral code."""
    referral_record(referred=member, code=code, by=by)


@transaction.atomic
def referral_record(*, referred: Member, code: str, by: Staff | None = None) -> Referral:
    """`referred` was brought by the owner of `code`. Raises ValidationError on field "referral_code"."""
    from membercare.sales.models import Receipt

    normalized = normalize_code(code)
    if not normalized:
        raise _refuse(_("Enter a referral code."))
    owner = ReferralCode.objects.filter(code=normalized).values_list("member_id", flat=True).first()
    if owner is None:
        raise _refuse(_("No member has the referral code “%(code)s”.") % {"code": normalized})
    if owner == referred.pk:
        raise _refuse(_("A member cannot use their own referral code."))
    # both members locked (in id order): two referrals between the same people cannot cross
    list(Member.objects.select_for_update().filter(pk__in=[owner, referred.pk]).order_by("pk").values_list("pk"))
    if Referral.objects.filter(referred_id=referred.pk).exists():
        raise _refuse(_("This member was already referred by someone."))
    if Receipt.objects.filter(member_id=referred.pk, original__isnull=True).exists():
        raise _refuse(_("This member has already bought: referral rewards are for new customers."))
    if _closes_circle(owner, referred.pk):
        raise _refuse(_("Circular referral: %(name)s was brought in (directly or through others) by this "
                        "member, so cannot refer them back.") % {
            "name": Member.objects.filter(pk=owner).values_list("name", flat=True).first()})
    try:
        with transaction.atomic():
            return Referral.objects.create(referrer_id=owner, referred=referred, code=normalized,
                                           registered_at=timezone.now(), recorded_by=by)
    except IntegrityError as exc:
        raise _refuse(_("This member was already referred by someone.")) from exc


def referral_rule(rules_text: str | None) -> dict[str, int]:
    """The programme's referral rule (loyalty DEFAULT_RULES["referral"] fills what a version lacks)."""
    from membercare.loyalty.programme import DEFAULT_RULES

    rule = dict(DEFAULT_RULES["referral"])
    if rules_text:
        stored = json.loads(rules_text).get("referral") or {}
        rule.update({k: v for k, v in stored.items() if k in rule})
    return {k: max(0, int(v)) for k, v in rule.items()}


def reward_on_first_purchase(sender, receipt, store, bought_before: bool = False, **_kwargs) -> None:
    """sale_posted receiver: the buyer's pending referral is claimed and both members get their points.
    No query for a member who bought before (a referral is only recorded for a member who never bought, and
    their first purchase claims it), one indexed statement for a first-time buyer without a referral."""
    if receipt.member_id is None or bought_before:
        return
    table = Referral._meta.db_table
    now = timezone.now()
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {table} SET rewarded_at = %s, first_receipt_id = %s "
                    "WHERE referred_id = %s AND rewarded_at IS NULL RETURNING id, referrer_id",
                    [Referral._meta.get_field("rewarded_at").get_db_prep_value(now, connection), receipt.pk,
                     receipt.member_id])
        row = cur.fetchone()
    if row is None:
        return
    _grant(row[0], row[1], receipt, now)


def _grant(referral_id: int, referrer_id: int, receipt, now) -> None:
    from membercare.loyalty.points import lock_account, points_earn
    from membercare.loyalty.programme import programme_day_param, programme_from_text, programme_text_sql

    on = timezone.localtime(receipt.sold_at).date()
    with connection.cursor() as cur:
        cur.execute(programme_text_sql(), [programme_day_param(on)])
        found = cur.fetchone()
    text = found[0] if found else None
    rule = referral_rule(text)
    programme = programme_from_text(text)
    expires = programme.points_expire_on(on)
    referred_name = Member.objects.filter(pk=receipt.member_id).values_list("name", flat=True).first()
    # the buyer's account is already locked by the sale; the referrer's next (referred -> referrer order,
    # and referrals have no circles, so two such rewards cannot wait on each other)
    buyer = lock_account(receipt.member_id)
    points_earn(buyer, rule["referred_points"], expires_on=expires, at=now,
                reason=_("Referral reward: welcome (first purchase %(number)s)") % {"number": receipt.number})
    referrer = lock_account(referrer_id)
    points_earn(referrer, rule["referrer_points"], expires_on=expires, at=now,
                reason=_("Referral reward: %(name)s made a first purchase") % {"name": referred_name})
    Referral.objects.filter(pk=referral_id).update(referrer_points=rule["referrer_points"],
                                                   referred_points=rule["referred_points"])
