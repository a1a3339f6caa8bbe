"""VIP event reads: the lists a user may see, an event's RSVPs and attendance, its results, a member's panel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from membercare.care.marketing import db_time
from membercare.core.permissions import visible_stores
from membercare.core.sql import localday
from membercare.members.models import Member
from membercare.messaging.models import MessageStatus
from membercare.org.models import Staff
from membercare.sales.models import Receipt

from .models import Attendance, Event, EventReceipt, Invitation, Referral
from .services import can_run_chain_events, over_seats

ZERO = Decimal("0.00")


def visible_events(user: Staff) -> QuerySet[Event]:
    """HQ: every event; others: events at one of their stores, or brand-wide for one of their stores' brands."""
    qs = Event.objects.select_related("brand", "created_by").prefetch_related("stores")
    if can_run_chain_events(user):
        return qs
    stores = visible_stores(user)
    return qs.filter(Q(stores__in=stores) | Q(stores__isnull=True, brand__stores__in=stores)).distinct()


def event_counts(event: Event) -> dict:
    """Invited, held out, messages sent, answers, expected guests, checked in (one aggregate + one count); the
    seats left and how many more members are invited than there are seats."""
    c = Invitation.objects.filter(event=event).aggregate(
        invited=Count("pk", filter=Q(held_out=False)), held_out=Count("pk", filter=Q(held_out=True)),
        messaged=Count("pk", filter=Q(message__isnull=False)), not_sent=Count("pk", filter=~Q(skip_reason="")),
        yes=Count("pk", filter=Q(rsvp=Invitation.Rsvp.YES)), no=Count("pk", filter=Q(rsvp=Invitation.Rsvp.NO)),
        guests=Sum("party_size", filter=Q(rsvp=Invitation.Rsvp.YES)))
    c["guests"] = c["guests"] or 0
    c["attended"] = Attendance.objects.filter(event=event).count()
    c["seats_left"] = max(0, event.capacity - c["guests"]) if event.capacity else None
    c["over_seats"] = over_seats(event.capacity, c["invited"])  # invited beyond the seats: the page warns
    return c


def event_window(event: Event) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the event's sales window: the event day(s), or the exclusive sale's period (local days)."""
    tz = timezone.get_current_timezone()
    if event.is_exclusive_sale and event.sale_starts_on and event.sale_ends_on:
        first, last = event.sale_starts_on, event.sale_ends_on
    else:
        first, last = timezone.localtime(event.starts_at).date(), timezone.localtime(event.ends_at).date()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _store_filter(event: Event) -> Q:
    store_ids = list(event.stores.values_list("pk", flat=True))
    if store_ids:
        return Q(store_id__in=store_ids)
    if event.brand_id:
        return Q(store__brand_id=event.brand_id)
    return Q()


def event_results(event: Event) -> dict:
    """The event's results (the campaigns results page shows them):
    - reached: invitations whose message was sent or delivered;
    - responded: invited members (not held out) who attended (checked in; for an exclusive sale also those
      who bought with the extra discount);
    - group_size, sales: the invited members (not held out), and what they paid at the event's stores in the
      window, whether they came or not: the same measure as the hold-out's, so the two compare;
    - attributed_sales: the event's own sales: what those who attended paid there in the window; for an
      exclusive sale, the receipts that received the extra discount (and their returns);
    - holdout_size, holdout_sales: the hold-out group, and what it paid at the event's stores in the window;
    - window_start, window_end: [start, end) of the window, local days.
    Sums in SQL; money as Decimal with 2 places."""
    start, end = event_window(event)
    invited = Invitation.objects.filter(event=event, held_out=False)
    reached = invited.filter(message__status__in=[MessageStatus.SENT, MessageStatus.DELIVERED]).count()
    attended = Attendance.objects.filter(event=event, member_id__in=invited.values("member_id"))
    window = Receipt.objects.filter(_store_filter(event), sold_at__gte=start, sold_at__lt=end)
    if event.is_exclusive_sale:
        discounted = EventReceipt.objects.filter(event=event)
        attributed = Receipt.objects.filter(Q(pk__in=discounted.values("receipt_id"))
                                            | Q(original_id__in=discounted.values("receipt_id"))
                                            ).aggregate(s=Sum("total_paid"))["s"]
        responded = (Member.objects.filter(Q(pk__in=attended.values("member_id"))
                                           | Q(pk__in=discounted.values("member_id"))).count())
    else:
        attributed = window.filter(member_id__in=attended.values("member_id")).aggregate(s=Sum("total_paid"))["s"]
        responded = attended.count()
    sales = window.filter(member_id__in=invited.values("member_id")).aggregate(s=Sum("total_paid"))["s"]
    held = Invitation.objects.filter(event=event, held_out=True)
    held_sales = window.filter(Exists(held.filter(member_id=OuterRef("member_id")))).aggregate(
        s=Sum("total_paid"))["s"]
    return {"reached": reached, "responded": responded, "group_size": invited.count(),
            "sales": (sales or ZERO).quantize(ZERO),
            "attributed_sales": (attributed or ZERO).quantize(ZERO),
            "holdout_size": held.count(), "holdout_sales": (held_sales or ZERO).quantize(ZERO),
            "window_start": start, "window_end": end}


def event_guests(event: Event, *, answer: str | None = None) -> QuerySet[Invitation]:
    qs = (Invitation.objects.filter(event=event, held_out=False).select_related("member", "message")
          .annotate(attended=Exists(Attendance.objects.filter(event=event, member_id=OuterRef("member_id"))))
          .order_by("-responded_at", "member__name"))
    if answer is not None:
        qs = qs.filter(rsvp=answer)
    return qs


def recent_check_ins(event: Event, limit: int = 20) -> list[Attendance]:
    return list(Attendance.objects.filter(event=event).select_related("member", "checked_in_by")
                .order_by("-checked_in_at", "-pk")[:limit])


def member_events_panel(member: Member) -> dict:
    """The member's referral code (if made), who referred them, whom they referred, and events attended."""
    from .models import ReferralCode

    code = ReferralCode.objects.filter(member=member).values_list("code", flat=True).first()
    referred_by = Referral.objects.select_related("referrer").filter(referred=member).first()
    referred = list(Referral.objects.select_related("referred").filter(referrer=member).order_by("-registered_at"))
    attended = list(Attendance.objects.select_related("event").filter(member=member).order_by("-checked_in_at")[:20])
    invitations = list(Invitation.objects.select_related("event").filter(member=member, held_out=False,
                                                                          event__ends_at__gte=timezone.now())
                       .order_by("event__starts_at")[:5])
    return {"code": code, "referred_by": referred_by, "referred": referred, "attended": attended,
            "upcoming": invitations}


def member_event_counts(member_ids: list[int], start: dt.date, end: dt.date) -> dict[int, int]:
    """{member id: VIP events attended from `start` to `end` (local days)} for the annual VIP statement."""
    from membercare.core.days import day_bounds

    begin, stop = day_bounds(start, end)
    return dict(Attendance.objects.filter(member_id__in=member_ids, checked_in_at__gte=begin, checked_in_at__lt=stop)
                .values("member_id").annotate(n=Count("pk")).values_list("member_id", "n"))


def event_marketing_receipts(window) -> tuple[str, list]:
    """care.marketing's source: the receipts that received an exclusive sale's extra discount, and the sale
    receipts of a member who attended an event (checked in), at the event's stores (its stores, else its
    brand's, else any) during its days (an exclusive sale's period, else the event's days, local; as
    event_window and event_results count them)."""
    first_day = timezone.localtime(window.start).date() - dt.timedelta(days=1)
    first = (f"CASE WHEN e.kind = 'exclusive_sale' AND e.sale_starts_on IS NOT NULL AND e.sale_ends_on IS NOT NULL "
             f"THEN e.sale_starts_on ELSE {localday('e.starts_at')} END")
    last = (f"CASE WHEN e.kind = 'exclusive_sale' AND e.sale_starts_on IS NOT NULL AND e.sale_ends_on IS NOT NULL "
            f"THEN e.sale_ends_on ELSE {localday('e.ends_at')} END")
    at_stores = """(EXISTS (SELECT 1 FROM events_event_stores es WHERE es.event_id = e.id AND es.store_id = s.store_id)
                    OR (NOT EXISTS (SELECT 1 FROM events_event_stores es WHERE es.event_id = e.id)
                        AND (e.brand_id IS NULL OR EXISTS (SELECT 1 FROM org_store st
                                                           WHERE st.id = s.store_id AND st.brand_id = e.brand_id))))"""
    sql = f"""
        SELECT er.receipt_id FROM events_eventreceipt er
        UNION
        SELECT s.id FROM events_attendance a
        JOIN events_event e ON e.id = a.event_id
        JOIN sales_receipt s ON s.member_id = a.member_id AND s.original_id IS NULL
        WHERE ({last}) >= %s AND s.sold_at >= %s AND s.sold_at < %s
          AND {localday('s.sold_at')} >= ({first}) AND {localday('s.sold_at')} <= ({last}) AND {at_stores}"""
    return sql, [first_day, db_time(window.start), db_time(window.end)]
