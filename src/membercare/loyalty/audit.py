"""Birthday privilege audit for the VIP specialist: every use, with flags for anything irregular.

`birthday_audit` lists every BirthdayUse of a period (optionally one store) with the member, card,
store, time, items, receipt and amount, and flags:
- outside_month: the use's time is not in the member's birthday month (an upload, an exception);
- exception: given as an approved exception;
- too_many_items: more items than the card's privilege allows (programme of that day);
- not_eligible: the card used was not one with a birthday privilege (e.g. an accumulation card),
  or its privilege is not valid at that store's brand;
- returned: the privilege receipt was returned (fully or partly);
- late_upload: posted by an offline store's upload after the deadline;
- recent_change: the member's phone, ID number or birthday was changed within 7 days before the use.
`birthday_audit_xlsx` writes the same list to Excel and logs the export (PIPL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.days import day_bounds
from membercare.core.permissions import can_edit_programme, require
from membercare.core.xlsx import write_xlsx
from membercare.members.models import ExportLog, Member, MemberChange
from membercare.org.models import Staff, Store
from membercare.sales.models import Receipt

from .birthday import birthday_period
from .models import BirthdayUse
from .programme import Programme, programme_at

RECENT_CHANGE_DAYS = 7
WATCHED_FIELDS = ("phone", "id_number", "birthday", "lunar_birthday_month", "lunar_birthday_day", "celebrates_lunar")
CHUNK = 900

FLAG_LABELS = {
    "outside_month": gettext_lazy("Outside the birthday month"),
    "exception": gettext_lazy("Approved exception"),
    "too_many_items": gettext_lazy("More items than the card allows"),
    "not_eligible": gettext_lazy("Card not eligible"),
    "returned": gettext_lazy("Returned"),
    "late_upload": gettext_lazy("Uploaded late"),
    "recent_change": gettext_lazy("Phone, ID or birthday changed shortly before"),
}


@dataclass
class AuditRow:
    use: BirthdayUse
    member: Member
    card_number: str
    store: Store
    used_at: dt.datetime
    items: int
    allowed_items: int | None
    receipt: Receipt
    amount: Decimal
    source: str
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flag_labels(self) -> list[str]:
        return [str(FLAG_LABELS[f]) for f in self.flags]


def _recent_changes(member_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, list[MemberChange]]:
    """Edits (not registrations) of watched fields, per member, between start - 7 days and end."""
    found: dict[int, list[MemberChange]] = {}
    since = start - dt.timedelta(days=RECENT_CHANGE_DAYS)
    for i in range(0, len(member_ids), CHUNK):
        changes = (MemberChange.objects.filter(member_id__in=member_ids[i:i + CHUNK], changed_at__gte=since,
                                               changed_at__lte=end)
                   .exclude(action=MemberChange.Action.CREATE).order_by("changed_at"))
        for change in changes:
            if any(f in (change.changes or {}) for f in WATCHED_FIELDS):
                found.setdefault(change.member_id, []).append(change)
    return found


def birthday_audit(*, since: dt.date, until: dt.date, store: Store | None = None,
                   flagged_only: bool = False) -> list[AuditRow]:
    """Every birthday privilege use from `since` to `until` (local days, inclusive), newest first."""
    start, end = day_bounds(since, until)
    returns = Receipt.objects.filter(original=OuterRef("receipt_id"))
    uses = (BirthdayUse.objects.filter(used_at__gte=start, used_at__lt=end)
            .select_related("member", "store", "store__brand", "receipt", "receipt__clerk")
            .annotate(has_returns=Exists(returns)).order_by("-used_at", "-pk"))
    if store is not None:
        uses = uses.filter(store=store)
    uses = list(uses)
    changes = _recent_changes(sorted({u.member_id for u in uses}), start, end)
    programmes: dict[dt.date, Programme] = {}
    rows: list[AuditRow] = []
    for use in uses:
        day = timezone.localtime(use.used_at).date()
        programme = programmes.get(day) or programmes.setdefault(day, programme_at(day))
        receipt = use.receipt
        tier = programme.tier(receipt.tier)
        privilege = tier.birthday if tier else None
        row = AuditRow(use=use, member=use.member, card_number=use.card_number, store=use.store, used_at=use.used_at,
                       items=use.items, allowed_items=privilege.items if privilege else None, receipt=receipt,
                       amount=receipt.total_paid, source=receipt.source)
        if birthday_period(use.member, day) != use.period:
            row.flags.append("outside_month")
        if use.exception:
            row.flags.append("exception")
        if privilege is not None and use.items > privilege.items:
            row.flags.append("too_many_items")
        if privilege is None or use.store.brand.code not in privilege.brands:
            row.flags.append("not_eligible")
            if privilege is not None:
                row.notes.append(_("Not valid at %(brand)s stores.") % {"brand": use.store.brand.name})
        elif privilege.self_operated_only and not use.store.self_operated:  # an upload from a franchise store
            row.flags.append("not_eligible")
            row.notes.append(_("Not valid at franchise stores."))
        if use.reversed or use.has_returns:
            row.flags.append("returned")
        if receipt.late_upload:
            row.flags.append("late_upload")
        window = use.used_at - dt.timedelta(days=RECENT_CHANGE_DAYS)
        recent = [c for c in changes.get(use.member_id, []) if window <= c.changed_at <= use.used_at]
        if recent:
            row.flags.append("recent_change")
            for change in recent:
                fields = [str(Member._meta.get_field(f).verbose_name) for f in WATCHED_FIELDS if f in change.changes]
                row.notes.append(_("%(fields)s changed on %(date)s") % {
                    "fields": "、".join(fields), "date": timezone.localtime(change.changed_at).strftime("%Y-%m-%d")})
        if row.flags or not flagged_only:
            rows.append(row)
    return rows


def flag_counts(rows: list[AuditRow]) -> list[tuple[str, str, int]]:
    """(flag, label, how many rows carry it), in the order of FLAG_LABELS."""
    return [(code, str(label), sum(1 for r in rows if code in r.flags)) for code, label in FLAG_LABELS.items()]


def birthday_audit_xlsx(user: Staff, *, since: dt.date, until: dt.date, store: Store | None = None,
                        flagged_only: bool = False) -> tuple[IO[bytes], int]:
    """The audit as an .xlsx (an open temporary file at its start) and its row count; the export is logged."""
    require(can_edit_programme(user))
    rows = birthday_audit(since=since, until=until, store=store, flagged_only=flagged_only)
    headers = [_("Time"), _("Member"), _("Member number"), _("Card number"), _("Store"), _("Clerk"), _("Items"),
               _("Items allowed"), _("Receipt"), _("Amount paid"), _("Source"), _("Flags"), _("Notes")]
    out = write_xlsx([(_("Birthday audit"), headers, ([
        timezone.localtime(r.used_at).replace(tzinfo=None), r.member.name, r.member.member_no, r.card_number,
        r.store.name, str(r.receipt.clerk) if r.receipt.clerk else None, r.items, r.allowed_items, r.receipt.number,
        r.amount, r.receipt.get_source_display(),
        "、".join(r.flag_labels) or None, "; ".join(r.notes) or None] for r in rows))])
    ExportLog.objects.create(
        exported_by=user, exported_at=timezone.now(), kind="birthday_audit",
        filters={"since": since.isoformat(), "until": until.isoformat(), "store": store.pk if store else None,
                 "flagged_only": flagged_only},
        row_count=len(rows), full_data=False,
    )
    return out, len(rows)
