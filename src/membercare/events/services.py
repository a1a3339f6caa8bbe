"""VIP event writes: create/edit, invite an audience (with a hold-out group), RSVP by token, check-in.

Permissions: the VIP specialist and the admin run chain-wide events (any stores, or a whole brand); a store
manager runs events at their own stores; clerks (and everyone above) check members in at their stores.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_edit_programme, visible_stores
from membercare.members.cardcode import card_code_member_id, looks_like_card_code
from membercare.members.models import Member
from membercare.messaging.bulk import audience_queryset
from membercare.messaging.holdout import holdout_threshold, new_seed
from membercare.messaging.holdout import split as holdout_split
from membercare.messaging.models import Category, MessageTemplate
from membercare.org.models import Brand, Role, Staff, Store

from .models import Attendance, Event, Invitation

MAX_PARTY = 10


# --------------------------------------------------------------------------------------------- permissions


def can_run_chain_events(user: Staff) -> bool:
    return can_edit_programme(user)  # the VIP specialist and the admin


def can_run_events(user: Staff) -> bool:
    return can_run_chain_events(user) or (getattr(user, "is_authenticated", False) and user.is_active
                                          and user.role == Role.MANAGER)


def event_store_ids(event: Event) -> set[int]:
    """The stores the event is held at (its stores, or every store of its brand)."""
    ids = {s.pk for s in event.stores.all()}
    if ids:
        return ids
    if event.brand_id:
        return set(Store.objects.filter(brand_id=event.brand_id).values_list("pk", flat=True))
    return set(Store.objects.values_list("pk", flat=True))


def can_manage_event(user: Staff, event: Event) -> bool:
    """Edit and invite: HQ any event; a manager an event held only at their own stores."""
    if can_run_chain_events(user):
        return True
    if not can_run_events(user):
        return False
    mine = set(visible_stores(user).values_list("pk", flat=True))
    stores = {s.pk for s in event.stores.all()}
    return bool(stores) and stores <= mine


def can_check_in(user: Staff, event: Event) -> bool:
    """Check members in at the door: HQ anywhere; staff of one of the event's stores."""
    if can_run_chain_events(user):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    mine = set(visible_stores(user).values_list("pk", flat=True))
    return bool(mine & event_store_ids(event))


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


# ---------------------------------------------------------------------------------------------- events


@dataclass
class EventData:
    kind: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    stores: list[Store]
    brand: Brand | None = None
    details: str = ""
    capacity: int | None = None
    attendance_points: int = 0
    extra_discount_pct: Decimal | None = None  # 10 = 10% off the tier price
    sale_starts_on: dt.date | None = None
    sale_ends_on: dt.date | None = None


def _check(data: EventData, by: Staff) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if data.kind not in Event.Kind.values:
        errors["kind"] = [_("Choose the kind of event.")]
    if not (data.title or "").strip():
        errors["title"] = [_("The title is required.")]
    if data.starts_at and data.ends_at and data.ends_at < data.starts_at:
        errors["ends_at"] = [_("The event cannot end before it starts.")]
    if not data.stores and data.brand is None:
        errors["stores"] = [_("Choose the stores, or a brand for all its stores.")]
    if not can_run_chain_events(by):
        if data.brand is not None and not data.stores:
            errors["brand"] = [_("A store manager runs events at their own stores: choose the stores.")]
        mine = set(visible_stores(by).values_list("pk", flat=True))
        foreign = [s.name for s in data.stores if s.pk not in mine]
        if foreign:
            errors["stores"] = [_("Not your store: %(names)s.") % {"names": "、".join(foreign)}]
    if data.capacity is not None and data.capacity < 1:
        errors["capacity"] = [_("The capacity is at least 1 guest (leave it empty for no limit).")]
    if data.kind == Event.Kind.EXCLUSIVE_SALE:
        pct = data.extra_discount_pct
        if pct is None or not Decimal("0") < pct < Decimal("100"):
            errors["extra_discount_pct"] = [_("An exclusive sale needs an extra discount between 0 and 100 "
                                              "percent.")]
        if not data.sale_starts_on or not data.sale_ends_on:
            errors["sale_starts_on"] = [_("An exclusive sale needs its sale period.")]
        elif data.sale_ends_on < data.sale_starts_on:
            errors["sale_ends_on"] = [_("The sale cannot end before it starts.")]
    return errors


@transaction.atomic
def event_save(*, data: EventData, by: Staff, event: Event | None = None) -> Event:
    """Create or edit an event; every problem at once, per field."""
    _require(can_run_events(by) and (event is None or can_manage_event(by, event)))
    errors = _check(data, by)
    if errors:
        raise ValidationError(errors)
    sale = data.kind == Event.Kind.EXCLUSIVE_SALE
    event = event or Event(created_by=by, created_at=timezone.now())
    event.kind, event.title, event.details = data.kind, data.title.strip(), (data.details or "").strip()
    event.starts_at, event.ends_at, event.capacity = data.starts_at, data.ends_at, data.capacity
    event.brand = data.brand if not data.stores else None
    event.attendance_points = data.attendance_points or 0
    event.extra_discount = (data.extra_discount_pct / 100).quantize(Decimal("0.001")) if sale else Decimal("0")
    event.sale_starts_on = data.sale_starts_on if sale else None
    event.sale_ends_on = data.sale_ends_on if sale else None
    event.save()
    event.stores.set(data.stores)
    return event


# ------------------------------------------------------------------------------------------- invitations


def parse_share(value, field: str = "holdout_share") -> Decimal:
    """A hold-out share from a percentage (0 to 50)."""
    try:
        pct = Decimal(str(value or 0))
    except InvalidOperation as exc:
        raise ValidationError({field: [_("Give the hold-out share as a percentage.")]}) from exc
    if not Decimal("0") <= pct <= Decimal("50"):
        raise ValidationError({field: [_("The hold-out share must be between 0 and 50 percent.")]})
    return (pct / 100).quantize(Decimal("0.001"))


def over_seats(capacity: int | None, invited: int) -> int:
    """How many more members hold an invitation than the event has seats (0 without a limit). Inviting more
    than the seats is allowed (not everyone comes): pages warn, nothing is refused; once the seats are taken,
    rsvp_answer refuses further guests."""
    return max(0, invited - capacity) if capacity else 0


def invite_audience(audience: dict, by: Staff | None) -> QuerySet[Member]:
    """The members an invitation's audience gives for `by` (messaging.bulk.audience_queryset: the bulk send's
    filters, or a saved audience — audiences.Audience, as bulk sends use it). A saved audience must be one `by`
    may use (a manager's: scoped to their own stores); a store manager invites members of their own stores
    only, whatever the filters say. An invitation is not a promotion: no campaign exclusions (seed 004)."""
    if audience.get("saved_audience") and by is not None:
        from membercare.audiences.selectors import visible_audiences

        if not visible_audiences(by).filter(pk=audience["saved_audience"]).exists():
            raise ValidationError({"saved_audience": [_("This audience is not available to you.")]})
    members = audience_queryset(audience)
    if by is not None and not can_run_chain_events(by):
        members = members.filter(home_store__in=visible_stores(by))
    return members


def invite_preview(*, event: Event, audience: dict, holdout_share: Decimal, seed: int,
                   by: Staff | None = None) -> dict:
    """Counts before inviting: the audience, the hold-out group, already invited; and the seats: `new`, the
    members this send would invite (not invited before, not held out), `invited_after`, the event's invited
    members after it, and `over_seats`, how many of them exceed the capacity (a warning, never a refusal)."""
    members = invite_audience(audience, by)
    threshold = holdout_threshold(holdout_share)
    total = members.count()
    held = holdout_split(members, holdout_share, seed)[1].count() if threshold else 0
    already = members.filter(event_invitations__event=event).count()
    fresh = members.exclude(event_invitations__event=event)
    new = holdout_split(fresh, holdout_share, seed)[0].count() if threshold else fresh.count()
    invited_after = Invitation.objects.filter(event=event, held_out=False).count() + new
    return {"total": total, "holdout": held, "invite": total - held, "already": already, "new": new,
            "invited_after": invited_after, "capacity": event.capacity,
            "over_seats": over_seats(event.capacity, invited_after)}


def rsvp_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/rsvp/{token}/"


def _new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


def event_invite(*, event: Event, audience: dict, template: MessageTemplate, by: Staff, base_url: str,
                 holdout_share: Decimal = Decimal("0"), seed: int | None = None) -> dict:
    """Invite the audience (messaging.bulk.audience_queryset): an invitation row per member (the hold-out group's
    rows are marked held_out and get no message), then one message per invited member with their own RSVP
    link ({link}; added to the text when the template lacks it). Members invited before are left alone.
    Returns counts: invited, held_out, sent, not_sent (by reason)."""
    from membercare.messaging.services import SendRefused, message_send

    _require(can_manage_event(by, event))
    if template.category != Category.EVENT or not template.is_active:
        raise ValidationError({"template": [_("Choose an active event-invitation template.")]})
    if event.cancelled or event.ends_at < timezone.now():
        raise ValidationError({"__all__": [_("This event is over or cancelled: nobody can be invited.")]})
    seed = seed or event.holdout_seed or new_seed()
    now = timezone.now()
    members = invite_audience(audience, by).exclude(event_invitations__event=event)
    held_ids = set()
    if holdout_threshold(holdout_share):
        held_ids = set(holdout_split(members, holdout_share, seed)[1].values_list("pk", flat=True))
    ids = list(members.values_list("pk", flat=True))
    if not ids:
        raise ValidationError({"audience": [_("Nobody new matches this audience.")]})
    with transaction.atomic():
        Event.objects.filter(pk=event.pk).update(holdout_share=holdout_share, holdout_seed=seed,
                                                 invited_at=event.invited_at or now)
        Invitation.objects.bulk_create(
            [Invitation(event=event, member_id=pk, token=_new_token(), held_out=pk in held_ids, invited_at=now)
             for pk in ids], batch_size=1000, ignore_conflicts=True)
    event.holdout_share, event.holdout_seed, event.invited_at = holdout_share, seed, event.invited_at or now
    body = template.body if "{link}" in template.body else f"{template.body} {_('RSVP: {link}')}"
    sent, not_sent = 0, {}
    invitations = (Invitation.objects.filter(event=event, member_id__in=ids, held_out=False, message__isnull=True)
                   .select_related("member__home_store", "member__owner", "member__loyalty"))
    for inv in invitations.iterator(chunk_size=500):
        try:
            message = message_send(member=inv.member, channel=template.channel, category=Category.EVENT, sender=by,
                                   template=template, body=body, at=now,
                                   extra={"link": rsvp_url(base_url, inv.token), "event": event.title})
        except SendRefused as exc:
            reason = exc.reason
        except ValidationError:
            reason = "content"
        else:
            Invitation.objects.filter(pk=inv.pk).update(message=message, skip_reason="")
            sent += 1
            continue
        Invitation.objects.filter(pk=inv.pk).update(skip_reason=reason)
        not_sent[reason] = not_sent.get(reason, 0) + 1
    return {"invited": len(ids) - len(held_ids), "held_out": len(held_ids), "sent": sent, "not_sent": not_sent}


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation of a token; None for a forged or unknown one (compared in the database's unique index)."""
    token = (token or "").strip()
    if not token or len(token) > 43:
        return None
    return Invitation.objects.select_related("event", "member").filter(token=token, held_out=False).first()


@transaction.atomic
def rsvp_answer(*, token: str, coming: bool, party_size: int = 1) -> Invitation:
    """The member's answer through their link: yes (with the party size, counting themself) or no. Answering
    again changes the answer (one row per invitation). Refused: a forged token, an event that has started,
    a party over MAX_PARTY or over the seats left."""
    inv = invitation_by_token(token)
    if inv is None:
        raise ValidationError({"token": [_("This invitation link is not valid.")]})
    event = Event.objects.select_for_update().get(pk=inv.event_id)  # seats are counted one answer at a time
    inv = Invitation.objects.select_for_update().get(pk=inv.pk)
    if event.cancelled:
        raise ValidationError({"__all__": [_("This event was cancelled.")]})
    if timezone.now() >= event.starts_at and not event.is_exclusive_sale:
        raise ValidationError({"__all__": [_("The event has started: answers are closed.")]})
    party = int(party_size or 0) if coming else 0
    if coming and not 1 <= party <= MAX_PARTY:
        raise ValidationError({"party_size": [_("The party is 1 to %(n)d people, yourself included.") % {
            "n": MAX_PARTY}]})
    if coming and event.capacity:
        from django.db.models import Sum

        taken = (Invitation.objects.filter(event=event, rsvp=Invitation.Rsvp.YES).exclude(pk=inv.pk)
                 .aggregate(n=Sum("party_size"))["n"] or 0)
        if taken + party > event.capacity:
            left = max(0, event.capacity - taken)
            raise ValidationError({"party_size": [_("Only %(n)d seat(s) are left.") % {"n": left}]})
    inv.rsvp = Invitation.Rsvp.YES if coming else Invitation.Rsvp.NO
    inv.party_size = party
    inv.responded_at = timezone.now()
    inv.save(update_fields=["rsvp", "party_size", "responded_at"])
    inv.event = event
    return inv


# ---------------------------------------------------------------------------------------------- check-in


@dataclass
class CheckIn:
    attendance: Attendance
    created: bool  # False: the member was already checked in (one attendance)


def check_in(*, event: Event, member: Member, by: Staff, store: Store | None = None,
             at: dt.datetime | None = None) -> CheckIn:
    """Check a member in at the door. Once per member per event: the member's loyalty account is locked first,
    so concurrent check-ins (two doors, a double tap) run one after another and the second finds the first;
    the unique (event, member) constraint backs it. The event's attendance points go through the ledger."""
    from membercare.loyalty.points import lock_account, points_earn
    from membercare.loyalty.programme import programme_at

    _require(can_check_in(by, event))
    if event.cancelled:
        raise ValidationError({"__all__": [_("This event was cancelled.")]})
    at = at or timezone.now()
    with transaction.atomic():
        account = lock_account(member)
        existing = Attendance.objects.filter(event=event, member=member).first()
        if existing is not None:
            return CheckIn(existing, False)
        invitation = Invitation.objects.filter(event=event, member=member).first()
        try:
            with transaction.atomic():
                attendance = Attendance.objects.create(event=event, member=member, invitation=invitation,
                                                       store=store, checked_in_at=at, checked_in_by=by,
                                                       points=event.attendance_points)
        except IntegrityError:  # checked in meanwhile without the lock (should not happen): one attendance
            return CheckIn(Attendance.objects.get(event=event, member=member), False)
        if event.attendance_points:
            on = timezone.localtime(at).date()
            points_earn(account, event.attendance_points, expires_on=programme_at(on).points_expire_on(on),
                        operator=by, at=at,
                        reason=_("Attended “%(event)s”") % {"event": event.title[:80]})
    return CheckIn(attendance, True)


def find_for_check_in(event: Event, query: str) -> tuple[Invitation | None, list[Member]]:
    """What the clerk typed or scanned: an invitation token (or its RSVP link; the member centre shows it as a
    check-in QR), the member's electronic card code, a card number or a phone (full, or the last 4 digits)."""
    from membercare.loyalty.models import Card, normalize_card_number

    text = (query or "").strip()
    if not text:
        return None, []
    if "/rsvp/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    inv = Invitation.objects.select_related("member").filter(token=text, event=event).first()
    if inv is not None:
        return inv, [inv.member]
    if looks_like_card_code(text):  # the member's electronic card code, shown on their phone
        member_id = card_code_member_id(text)
        return None, list(Member.objects.filter(pk=member_id)) if member_id is not None else []
    digits = "".join(ch for ch in text if ch.isdigit())
    found: list[Member] = []
    card = Card.objects.select_related("member").filter(number=normalize_card_number(text)).first()
    if card is not None:
        found.append(card.member)
    elif len(digits) == 11:
        found = list(Member.objects.filter(phone=digits)[:1])
    elif len(digits) == 4:  # last 4 digits: invited members first
        found = list(Member.objects.filter(phone_last4=digits, event_invitations__event=event)[:20]) or list(
            Member.objects.filter(phone_last4=digits)[:20])
    return None, found
