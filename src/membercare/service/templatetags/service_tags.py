"""The member's service panel on the profile (the profile view does not know the service app)."""

from django import template

from membercare.core.permissions import can_work_members

from ..selectors import member_service_panel

register = template.Library()


@register.inclusion_tag("web/service/_panel.html", takes_context=True)
def service_panel(context, member):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"member": member, "panel": member_service_panel(member), "request": request,
            "can_work": bool(user is not None and can_work_members(user))}
