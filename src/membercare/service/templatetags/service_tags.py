"""The member's service panel on the profile (the profile view does not know the service app)."""

from django import template
from django.utils import timezone

from membercare.core.permissions import can_work_members

from ..aftersales import member_open_orders
from ..selectors import member_service_panel

register = template.Library()


@register.inclusion_tag("web/service/_panel.html", takes_context=True)
def service_panel(context, member):
    request = context.get("request")
    user = getattr(request, "user", None)
    can_work = bool(user is not None and can_work_members(user))
    return {"member": member, "panel": member_service_panel(member), "request": request, "can_work": can_work,
            "orders": list(member_open_orders(member, user)) if can_work else [],
            "today": timezone.localdate()}
