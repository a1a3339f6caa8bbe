"""The demo's member login for the member centre (issue 22): a member with points, a coupon to use and stored
value, whose phone signs in at /m/ with the SMS code the demo writes to its outbox (var/outbox/sms.jsonl)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from membercare.campaigns.models import Coupon
from membercare.core.public import public_base_url
from membercare.events.models import Invitation
from membercare.loyalty.models import LoyaltyAccount
from membercare.members.models import Member
from membercare.storedvalue.models import StoredValueCard


def demo_member_login() -> Member | None:
    """The first member (by number) with points, a coupon valid today and an event invitation to answer (with
    stored value too when one has it), else with points."""
    today = timezone.localdate()
    coupons = Coupon.objects.filter(member=OuterRef("pk"), redeemed_at__isnull=True, expired_on__isnull=True,
                                    batch__valid_from__lte=today, batch__valid_to__gte=today)
    invited = Invitation.objects.filter(member=OuterRef("pk"), held_out=False, event__cancelled=False,
                                        event__ends_at__gte=timezone.now())
    stored = StoredValueCard.objects.filter(member=OuterRef("pk"))
    points = LoyaltyAccount.objects.filter(member=OuterRef("pk"), points__gt=0)
    members = Member.objects.filter(Exists(points)).annotate(has_stored=Exists(stored)).order_by(
        "-has_stored", "member_no")
    return members.filter(Exists(coupons), Exists(invited)).first() or members.first()


def print_member_login(stdout, style) -> None:
    member = demo_member_login()
    if member is None:
        return
    outbox = settings.VAR_DIR / "outbox" / "sms.jsonl"  # the demo's SMS channel (messaging.backends.outbox)
    stdout.write(style.MIGRATE_HEADING("Member centre (the member's phone):"))
    stdout.write(f"  {public_base_url()}/m/  phone {member.phone} ({member.name}); the SMS code is the last line "
                 f"of {outbox}")
