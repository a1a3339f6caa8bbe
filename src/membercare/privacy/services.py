"""Erasing a member's personal data on request (PIPL): one transaction, irreversible, logged.

Written by hand (no library knows our tables): `PERSONAL_DATA` below names, for every model with a foreign key
to the member, what erasure does with it, and tests/privacy/test_erasure.py fails when a new model points at the
member without being named here. The rule, as in pretix's shredder: what identifies or describes the person goes;
what the chain's books need stays, attached to the anonymised member row:

- the member row stays (receipts and the points ledger keep their member, so sales and points aggregates do not
  move), with every personal field blanked: name, phone (replaced by a unique placeholder that no real
  mobile number can equal), birthday (1900-01-01), address, email, WeChat, ID number and its blind index, body
  measures, preferences, notes, tags, consents, owner. Gender, the registration store and date, the member and
  card numbers (pseudonyms the receipts carry) stay;
- the remaining points are forfeited by a ledger entry (balance = ledger still), cards are voided, unused
  coupons expire, open tasks are cancelled, queued messages are not sent, open complaints are closed;
- free text written about the member (contact notes, message texts and addresses, complaint statements,
  survey comments, gift and application notes, after-sales items and work) is blanked; the edit history
  (old values) and opt-outs are deleted.

`Member.objects` leaves erased members out, so they never reappear in searches, lists, audiences, rules or
exports; the task insert and message send check it too.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.campaigns.mall import mall_vouchers_void
from membercare.campaigns.models import Coupon
from membercare.care.models import Contact, OwnerChange, OwnerPin, Task, TaskStatus
from membercare.core.permissions import can_erase_members, require
from membercare.events.models import ReferralCode
from membercare.loyalty.models import BirthdayException, Card, CardApplication, CardStatus, PerkUse, PointsEntry
from membercare.loyalty.points import lock_account, points_take
from membercare.members.models import CardCodeUse, Member, MemberChange, MemberDate
from membercare.members.signals import member_erased
from membercare.messaging.models import InboundMessage, Message, MessageStatus, OneTimeCode, OptOut
from membercare.org.models import Staff
from membercare.prediction.models import MemberPrediction
from membercare.service.models import (
    Complaint,
    ComplaintState,
    ComplaintStep,
    GiftIssue,
    ServiceOrder,
    Survey,
)

from .models import Erasure

ERASED_BIRTHDAY = dt.date(1900, 1, 1)
REASON_MAX = 200

# model label -> what erasure does with its rows of the member (kept rows hold no personal data afterwards)
PERSONAL_DATA: dict[str, str] = {
    "members.MemberChange": "deleted (old values), one 'erased' entry left",
    "members.SensitiveAccessLog": "kept: who viewed the ID number and when (the audit trail)",
    "loyalty.Card": "kept and voided: receipts carry the card number",
    "loyalty.LoyaltyAccount": "kept: balance forfeited to 0 by a ledger entry",
    "loyalty.PointsEntry": "kept: the ledger",
    "loyalty.BirthdayUse": "kept: the privilege's accounting",
    "loyalty.PerkUse": "kept: the perks' accounting (anonymous counts); the note and the reason for a reversal blanked",
    "loyalty.BirthdayException": "kept; reason and decision note blanked, pending ones rejected",
    "loyalty.CardApplication": "kept; note blanked, pending ones rejected",
    "sales.Receipt": "kept: the chain's sales",
    "care.MemberSegments": "kept: figures derived from receipts",
    "care.SegmentSpan": "kept: figures derived from receipts",
    "care.Task": "kept; open ones cancelled, context blanked",
    "care.Contact": "kept; notes and next step blanked",
    "care.PurchaseDay": "kept: figures derived from receipts",
    "care.PurchaseStats": "kept: figures derived from receipts",
    "care.BrandPurchaseDay": "kept: figures derived from receipts",
    "care.BrandPurchaseSummary": "kept: figures derived from receipts",
    "care.SeriesPurchaseDay": "kept: figures derived from receipts",
    "care.ConsumableDay": "kept: figures derived from receipts",
    "care.ConsumableCycle": "kept: figures derived from receipts",
    "care.ClerkVisits": "kept: a count",
    "care.OwnerPin": "deleted (the owner is blanked too)",
    "care.OwnerChange": "deleted (who owned the member, and when)",
    "messaging.Message": "kept for the sending costs; address, subject, text blanked; queued ones not sent",
    "messaging.OptOut": "deleted",
    "messaging.OneTimeCode": "deleted (a code's hash and the phone it went to)",
    "members.CardCodeUse": "deleted (which card codes paid a sale)",
    "members.MemberDate": "deleted (the dates the member gave us: anniversaries, family birthdays)",
    "membercentre.MemberSession": "deleted by the member centre (members.signals.member_erased): sign-ins, "
                                  "address, browser",
    "privacy.DataRequest": "kept: the evidence that the member asked and how it was handled (no personal data)",
    "messaging.InboundMessage": "kept; sender and text blanked",
    "messaging.BulkHoldout": "kept: the experiment's design",
    "service.Complaint": "kept for the counts; statement, remedy, settlement and step notes blanked, open ones "
                         "closed",
    "service.GiftIssue": "kept: gift stock; note blanked",
    "service.ServiceOrder": "kept for the counts and the item still in the store's hands (the number and status "
                            "stay); item description, work and cancelling reason blanked",
    "service.Survey": "kept for the scores; comment blanked, unanswered ones expire",
    "campaigns.Coupon": "kept; unused ones expire",
    "campaigns.MallRedemption": "kept: the points mall's books (points, item, store); a gift not yet collected is "
                                "not handed over any more (its pickup code blanked, the gift back in stock)",
    "loyalty.PointsDonation": "kept: the charity item's total (points and date only)",
    "campaigns.CouponHoldout": "kept: the experiment's design",
    "events.Invitation": "kept: the event's counts",
    "events.Attendance": "kept: the event's counts",
    "events.EventReceipt": "kept: the event's sales",
    "events.ReferralCode": "deleted",
    "events.Referral": "kept: referral rewards' accounting",
    "prediction.MemberPrediction": "deleted",
    "storedvalue.StoredValueCard": "kept: money the chain owes (its number, a pseudonym, still pays or refunds it)",
    "storedvalue.StoredValueEntry": "kept: the ledger (the chain's books)",
    "storedvalue.StoredValueRefund": "kept: the refund's approval (no personal data)",
    "storedvalue.GiftCard": "kept: a prepaid card the chain owes (its holder is the anonymised member row)",
    "storedvalue.GiftCardEntry": "kept: the gift-card ledger (the chain's books)",
    "privacy.Erasure": "kept: the evidence of the erasure (no personal data)",
}


def erased_phone(member_id: int) -> str:
    """The placeholder in the unique phone column: starts with 0, which no mainland mobile number does."""
    return f"0{member_id:010d}"


def _anonymise(member: Member) -> None:
    blank = ("address", "email", "wechat_id", "id_number", "id_number_index", "occupation", "skin_tone",
             "clothing_size", "shoe_size", "first_purchase_style", "personality", "decision_style", "shopping_time",
             "shopping_places", "other_brands", "notes", "name_grams", "phone_last4")
    for field in blank:
        setattr(member, field, "")
    member.name = _("Erased member")
    member.phone = erased_phone(member.pk)
    member.birthday = ERASED_BIRTHDAY
    member.lunar_birthday_month = member.lunar_birthday_day = None
    member.lunar_birthday_leap = member.celebrates_lunar = False
    member.height_cm = member.weight_kg = None
    member.consent_phone = member.consent_sms = member.consent_email = member.consent_wechat = False
    member.owner = None
    member.registered_by = None


@transaction.atomic
def member_erase(*, member: Member, by: Staff, reason: str, confirm_member_no: str) -> Erasure:
    """Erase the member's personal data (see the module docstring). `confirm_member_no` must repeat the member
    number, so that a slip of the hand erases nobody. Refusals name the field."""
    require(can_erase_members(by))
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Give the reason (e.g. the member's request and its date).")})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": _("At most %(n)d characters.") % {"n": REASON_MAX}})
    if (confirm_member_no or "").strip().upper() != member.member_no:
        raise ValidationError({"confirm_member_no": _("Type the member number %(no)s to confirm.") % {
            "no": member.member_no}})
    # the points account first, as a checkout takes it (a sale in flight for this member finishes first), then
    # the member row; FOR NO KEY UPDATE, which the key-share locks of rows being inserted for the member (a
    # receipt, a ledger entry) do not wait for
    account = lock_account(member.pk)
    member = Member.all_objects.select_for_update(no_key=True).get(pk=member.pk)
    if member.erased_at is not None:
        raise ValidationError({"confirm_member_no": _("This member's personal data was already erased.")})
    now = timezone.now()
    today = timezone.localdate(now)
    counts: dict[str, int] = {}
    forfeited = points_take(account, account.points, kind=PointsEntry.Kind.EXPIRE, allow_short=True,
                            reason=_("Forfeited: personal data erased"), operator=by, at=now) \
        if account.points > 0 else 0

    counts["cards_voided"] = Card.objects.filter(member=member).exclude(status=CardStatus.VOID).update(
        status=CardStatus.VOID, void_reason=_("Personal data erased"))
    BirthdayException.objects.filter(member=member, status=BirthdayException.Status.PENDING).update(
        status=BirthdayException.Status.REJECTED, decided_by=by, decided_at=now)
    BirthdayException.objects.filter(member=member).update(reason="", decision_note="")
    PerkUse.objects.filter(member=member).update(note="", reverse_reason="")
    CardApplication.objects.filter(member=member, status__in=[CardApplication.Status.PENDING,
                                                              CardApplication.Status.APPROVED]).update(
        status=CardApplication.Status.REJECTED, reviewed_by=by, reviewed_at=now)
    CardApplication.objects.filter(member=member).update(note="")

    counts["tasks_cancelled"] = Task.objects.filter(member=member, status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED)
    Task.objects.filter(member=member).update(context={})
    counts["contacts"] = Contact.objects.filter(member=member).update(notes="", next_step="")

    counts["messages_stopped"] = Message.objects.filter(member=member, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SKIPPED, skip_reason="erased")
    counts["messages"] = Message.objects.filter(member=member).update(to="", subject="", body="", params={},
                                                                      last_error="")
    InboundMessage.objects.filter(member=member).update(sender="", body="")
    counts["opt_outs_deleted"] = OptOut.objects.filter(member=member).delete()[0]
    OneTimeCode.objects.filter(member=member).delete()
    CardCodeUse.objects.filter(member=member).delete()
    counts["member_dates_deleted"] = MemberDate.objects.filter(member=member).delete()[0]

    placeholder = _("(erased)")
    for complaint in Complaint.objects.select_for_update().filter(member=member):
        complaint.description = placeholder
        complaint.settlement = ""
        if complaint.is_open:  # nobody left to follow up with; the constraint wants a remedy and a result
            complaint.state, complaint.closed_at = ComplaintState.CLOSED, now
            complaint.satisfied = False if complaint.satisfied is None else complaint.satisfied
        complaint.remedy = placeholder
        complaint.save(update_fields=["description", "settlement", "remedy", "state", "closed_at", "satisfied"])
    counts["complaints"] = ComplaintStep.objects.filter(complaint__member=member).update(note=placeholder)
    GiftIssue.objects.filter(member=member).update(note="")
    counts["service_orders"] = ServiceOrder.objects.filter(member=member).update(
        item=placeholder, work=placeholder, cancel_reason="")
    Survey.objects.filter(member=member).update(comment="")
    Survey.objects.filter(member=member, answered_at__isnull=True, expires_at__gt=now).update(expires_at=now)

    counts["coupons_expired"] = Coupon.objects.filter(member=member, redeemed_at__isnull=True,
                                                      expired_on__isnull=True).update(expired_on=today)
    counts["mall_pickups_voided"] = mall_vouchers_void(member, reason=_("Pickup voided: member erased"), at=now)
    ReferralCode.objects.filter(member=member).delete()
    MemberPrediction.objects.filter(member=member).delete()
    OwnerPin.objects.filter(member=member).delete()
    OwnerChange.objects.filter(member=member).delete()

    counts["changes_deleted"] = MemberChange.objects.filter(member=member).delete()[0]
    _anonymise(member)
    member.erased_at = now
    member.save()
    member_erased.send(sender=Member, member=member, counts=counts)  # apps above (the member centre) clear theirs
    member.tags.clear()
    MemberChange.objects.create(member=member, action=MemberChange.Action.ERASE, changed_by=by, changed_at=now,
                                changes={})
    return Erasure.objects.create(member=member, member_no=member.member_no, erased_by=by, erased_at=now,
                                  reason=reason, points_forfeited=forfeited, counts=counts)
