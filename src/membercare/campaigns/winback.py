"""The "coupon" action of care's win-back plans (care.plans, registered in CampaignsConfig.ready): when a clerk
records a dormancy reason whose plan says so, the member gets one coupon of the batch the plan names (its
number), issued like any coupon (one per member and batch, not after the batch ends)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import CouponBatch
from .services import coupon_issue


def _batch(target: str) -> CouponBatch | None:
    target = (target or "").strip()
    return CouponBatch.objects.filter(pk=int(target)).first() if target.isdigit() and len(target) < 10 else None


def check_coupon_target(target: str) -> str:
    """'' when `target` is a coupon batch's number, else what is wrong."""
    if _batch(target) is None:
        return _("Give the number of an existing coupon batch.")
    return ""


def winback_coupon(contact, target: str) -> str:
    """Issue one coupon of batch `target` to the contact's member; returns what was done, in words."""
    batch = _batch(target)
    if batch is None:
        raise ValidationError(_("Give the number of an existing coupon batch."))
    coupon_issue(batch=batch, audience={"member_ids": [contact.member_id]}, holdout_share=Decimal(0),
                 by=contact.staff)
    return _("A coupon of “%(batch)s” was issued: tell them.") % {"batch": batch.name}
