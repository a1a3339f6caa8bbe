"""{% events_profile_panel member %}: the member's referral code, referrals and events on the profile."""

from django import template

from membercare.events.selectors import member_events_panel

register = template.Library()


@register.inclusion_tag("web/events/_panel_body.html", takes_context=True)
def events_profile_panel(context, member):
    return {**member_events_panel(member), "member": member, "csrf_token": context.get("csrf_token"),
            "request": context.get("request")}
