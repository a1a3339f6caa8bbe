"""A member's whole record as one .xlsx, on the member's request (PIPL): profile, cards, points, receipts and
their lines, messages, contacts, complaints, surveys, coupons, events, edit history.

One sheet per kind, the headers the fields' own names in the user's language; written by core.xlsx (text stays
text). The file holds the full phone and ID number (it is the member's own data, handed to them), so only HQ
may produce it, and each one is logged: ExportLog (kind "member_data", full data) and, for the ID number, the
SensitiveAccessLog a reveal writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from membercare.campaigns.models import Coupon, MallRedemption
from membercare.care.models import Contact
from membercare.core.permissions import can_erase_members, require
from membercare.core.xlsx import Sheet, write_xlsx
from membercare.events.models import Attendance, Invitation
from membercare.loyalty.models import BirthdayUse, Card, PerkUse, PointsDonation, PointsEntry
from membercare.loyalty.programme import label_cards
from membercare.members.models import ExportLog, Member, MemberChange, MemberDate, SensitiveAccessLog
from membercare.members.selectors import change_rows
from membercare.messaging.models import Message, OptOut
from membercare.org.models import Staff
from membercare.sales.models import Receipt, ReceiptLine
from membercare.service.models import Complaint, GiftIssue, ServiceOrder, Survey
from membercare.storedvalue.models import StoredValueEntry

PROFILE_FIELDS = (
    "member_no", "name", "phone", "gender", "birthday", "lunar_birthday_month", "lunar_birthday_day",
    "celebrates_lunar", "address", "email", "wechat_id", "id_number", "occupation", "height_cm", "weight_kg",
    "skin_tone", "clothing_size", "shoe_size", "first_purchase_style", "personality", "decision_style",
    "shopping_time", "shopping_places", "other_brands", "notes", "preferred_channel", "preferred_time",
    "consent_phone", "consent_sms", "consent_email", "consent_wechat", "home_store", "owner", "created_at",
)
ROWS_MAX = 100_000  # per sheet: a member's record is far smaller; a bound all the same


def _value(obj: models.Model, name: str) -> Any:
    """A field's value as a person reads it: choices by label, yes/no, local time, related objects by name."""
    field = obj._meta.get_field(name)
    if getattr(field, "choices", None):
        return getattr(obj, f"get_{name}_display")()
    value = getattr(obj, name)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None)  # Excel has no time zones
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, Decimal | int | float | dt.date) or value is None:
        return value
    return str(value)


# foreign keys whose models name them only in English: their header here
LABELS = {"receipt": gettext_lazy("Receipt number"), "batch": gettext_lazy("Coupon batch"),
          "event": gettext_lazy("VIP event"), "card": gettext_lazy("stored-value card number")}


def _label(model: type[models.Model], name: str) -> str:
    return str(LABELS.get(name) or model._meta.get_field(name).verbose_name)


def _sheet(title: str, model: type[models.Model], rows: Iterable[models.Model], fields: tuple[str, ...]) -> Sheet:
    return (title, [_label(model, f) for f in fields],
            ([_value(r, f) for f in fields] for r in rows))


def _changes_text(change: MemberChange) -> str:
    return "; ".join(f"{label}: {old} → {new}" for label, old, new in change_rows(change))


def _cards_sheet(member: Member) -> Sheet:
    """The cards, each level by its name in the programme (a level is the chain's data, not a fixed choice)."""
    fields = ("number", "kind", "status", "brand", "issued_at", "valid_until")
    cards = label_cards(Card.objects.filter(member=member).select_related("brand").order_by("issued_at"))
    return (_("Cards"), [_label(Card, f) for f in fields],
            ([c.label if f == "kind" else _value(c, f) for f in fields] for c in cards))


def member_data_sheets(member: Member) -> list[Sheet]:
    profile = (_("Profile"), [pgettext("member data", "Field"), pgettext("member data", "Value")],
               [[_label(Member, f), _value(member, f)] for f in PROFILE_FIELDS]
               + [[str(_("tags")), "、".join(t.name for t in member.tags.all())]])
    receipts = Receipt.objects.filter(member=member).select_related("store").order_by("sold_at", "pk")
    lines = (ReceiptLine.objects.filter(receipt__member=member).select_related("receipt", "product")
             .order_by("receipt__sold_at", "pk"))
    return [
        profile,
        _cards_sheet(member),
        _sheet(_("Points"), PointsEntry, PointsEntry.objects.filter(member=member).select_related("receipt")
               .order_by("created_at", "pk")[:ROWS_MAX],
               ("created_at", "kind", "points", "expires_on", "receipt", "reason")),
        _sheet(_("Birthday privilege uses"), BirthdayUse, BirthdayUse.objects.filter(member=member)
               .select_related("store", "receipt").order_by("used_at", "pk")[:ROWS_MAX],
               ("used_at", "period", "card_number", "store", "receipt", "items", "exception", "reversed")),
        _sheet(_("Perk uses"), PerkUse, PerkUse.objects.filter(member=member).select_related("store", "receipt")
               .order_by("used_at", "pk")[:ROWS_MAX],
               ("used_at", "perk_name", "card_number", "period_key", "store", "receipt", "note", "reversed")),
        _sheet(_("Stored value"), StoredValueEntry, StoredValueEntry.objects.filter(member=member)
               .select_related("card", "store", "receipt").order_by("created_at", "pk")[:ROWS_MAX],
               ("created_at", "card", "kind", "principal", "bonus", "store", "receipt", "reason")),
        _sheet(pgettext("member data", "Receipts"), Receipt, receipts[:ROWS_MAX],
               ("number", "sold_at", "store", "card_number", "total_full_price", "total_paid", "points_earned",
                "points_redeemed")),
        (_("Receipt lines"), [_label(Receipt, "number"), _label(ReceiptLine, "product"),
                              _label(ReceiptLine, "quantity"), _label(ReceiptLine, "full_price"),
                              _label(ReceiptLine, "paid_amount")],
         ([ln.receipt.number, str(ln.product), ln.quantity, ln.full_price, ln.paid_amount]
          for ln in lines[:ROWS_MAX])),
        _sheet(_("Messages"), Message, Message.objects.filter(member=member).order_by("created_at", "pk")[:ROWS_MAX],
               ("created_at", "channel", "category", "to", "subject", "body", "status")),
        _sheet(_("Opt-outs"), OptOut, OptOut.objects.filter(member=member).order_by("at"),
               ("at", "channel", "source")),
        _sheet(_("Contacts"), Contact, Contact.objects.filter(member=member).select_related("staff", "store")
               .order_by("at", "pk")[:ROWS_MAX],
               ("at", "store", "staff", "channel", "outcome", "reason", "notes", "next_step")),
        _sheet(_("Complaints"), Complaint, Complaint.objects.filter(member=member).select_related("store")
               .order_by("opened_at"),
               ("number", "opened_at", "store", "category", "sku", "description", "state", "remedy", "satisfied",
                "settlement", "closed_at")),
        _sheet(_("After-sales service"), ServiceOrder, ServiceOrder.objects.filter(member=member)
               .select_related("store").order_by("received_at", "pk")[:ROWS_MAX],
               ("number", "received_at", "store", "kind", "item", "work", "promised_on", "charged", "amount",
                "status", "collected_at")),
        _sheet(_("Gifts received"), GiftIssue, GiftIssue.objects.filter(member=member)
               .select_related("gift", "store").order_by("at", "pk")[:ROWS_MAX],
               ("at", "gift", "store", "reason", "points", "note")),
        _sheet(_("Surveys"), Survey, Survey.objects.filter(member=member).order_by("created_at"),
               ("created_at", "answered_at", "csat", "nps", "comment")),
        _sheet(_("Coupons"), Coupon, Coupon.objects.filter(member=member).select_related("batch")
               .order_by("issued_at"),
               ("code", "batch", "issued_at", "redeemed_at", "expired_on")),
        _sheet(_("Points mall"), MallRedemption, MallRedemption.objects.filter(member=member)
               .select_related("store").order_by("created_at", "pk")[:ROWS_MAX],
               ("created_at", "item_name", "points", "channel", "status", "store", "collected_at")),
        _sheet(_("Points donations"), PointsDonation, PointsDonation.objects.filter(member=member)
               .order_by("created_at", "pk")[:ROWS_MAX], ("created_at", "charity_name", "points")),
        _sheet(_("Event invitations"), Invitation, Invitation.objects.filter(member=member)
               .select_related("event").order_by("invited_at"),
               ("event", "invited_at", "rsvp", "party_size", "responded_at")),
        _sheet(_("Event attendance"), Attendance, Attendance.objects.filter(member=member)
               .select_related("event", "store").order_by("checked_in_at"),
               ("event", "store", "checked_in_at", "points")),
        _sheet(_("Member dates"), MemberDate, MemberDate.objects.filter(member=member).order_by("month", "day", "pk"),
               ("name", "calendar", "month", "day", "leap")),
        (_("Edit history"), [_("Time"), _("Change"), _("Fields")],
         ([_value(c, "changed_at"), c.get_action_display(), _changes_text(c)]
          for c in MemberChange.objects.filter(member=member).order_by("changed_at", "pk")[:ROWS_MAX])),
    ]


@transaction.atomic
def member_data_export(*, member: Member, by: Staff) -> IO[bytes]:
    """The member's whole record as an .xlsx (an open temporary file, rewound); logged."""
    require(can_erase_members(by))
    now = timezone.now()
    out = write_xlsx(member_data_sheets(member))
    ExportLog.objects.create(exported_by=by, exported_at=now, kind="member_data",
                             filters={"member": member.member_no}, row_count=1, full_data=True)
    if member.id_number:
        SensitiveAccessLog.objects.create(viewer=by, member=member, field="id_number", viewed_at=now)
    return out
