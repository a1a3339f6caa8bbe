from django.utils.translation import gettext as _

from membercare.core.timeline import TimelineEvent
from membercare.members.models import Member

from .models import Receipt


def member_purchase_events(member: Member, limit: int) -> list[TimelineEvent]:
    receipts = (
        Receipt.objects.filter(member=member).select_related("store").prefetch_related("lines__product")
        .order_by("-sold_at")[:limit]
    )
    events = []
    for r in receipts:
        items = "、".join(f"{line.product.name}×{line.quantity}" for line in r.lines.all())
        kind = "return" if r.total_paid < 0 else "purchase"
        events.append(TimelineEvent(
            at=r.sold_at, kind=kind,
            title=_("%(store)s: paid ¥%(paid)s") % {"store": r.store.name, "paid": r.total_paid},
            detail=items, extra={"receipt": r.number, "receipt_id": r.pk, "store_id": r.store_id},
        ))
    return events
