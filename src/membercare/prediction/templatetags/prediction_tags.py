"""The member's prediction panel on the profile (the profile view does not know the prediction app)."""

from django import template

from membercare.core.permissions import can_work_members

from ..selectors import member_predictions

register = template.Library()


@register.inclusion_tag("web/prediction/_panel.html", takes_context=True)
def prediction_panel(context, member):
    request = context.get("request")
    user = getattr(request, "user", None)
    visible = bool(user is not None and can_work_members(user))
    return {"member": member, "rows": member_predictions(member.pk) if visible else [], "visible": visible}
