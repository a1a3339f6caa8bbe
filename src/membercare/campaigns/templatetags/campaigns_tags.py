"""Template tags of the campaigns app: the member's coupons for the profile panel."""

from django import template

from membercare.campaigns.selectors import member_coupons

register = template.Library()


@register.simple_tag
def coupons_of(member) -> list[dict]:
    """{% coupons_of member as coupons %}: valid, used and expired coupons, newest first."""
    return member_coupons(member)
