"""What each care rule is called, why it makes a task, and what the clerk might say (the script hint).

Titles and hints may use the task's context: %(holiday)s, %(event)s, %(birthday)s, %(days)s,
%(last_purchase)s, %(product)s, %(next_on)s, %(points)s, %(expires_on)s. Shown on the task list; the specialist
sees the labels in the rule editor.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

RULE_LABELS = {
    "new_member_callback": _("New member callback"),
    "new_member_weekly": _("Last week's new member: check data and explain rights"),
    "purchase_callback": _("Callback after a purchase"),
    "prospect_follow_up": _("Follow up a visitor who has not bought yet"),
    "follow_up_contact": _("Regular contact (follow-up class)"),
    "develop_contact": _("Develop a D member"),
    "member_dates": _("Anniversary greeting"),
    "a_monthly_call": _("Monthly caring call (A member)"),
    "new_stock_call": _("New stock arrives"),
    "pre_holiday_call": _("Call before the holiday"),
    "spend_drop_call": _("Buying less than usual"),
    "dormant_review": _("Dormant for 3 months: review, then contact"),
    "sleeping_call": _("Sleeping for 6 months: phone call"),
    "birthday_greeting": _("Birthday greeting and gift"),
    "holiday_greeting": _("Holiday greeting"),
    "season_greeting": _("Season change greeting"),
    "replenishment": _("Replenishment reminder"),
    "campaign_notice": _("Campaign notice"),
    "learn_surname": _("Learn the member's surname and introduce yourself"),
    "points_expiring": _("Points about to expire"),
    "slipping_call": _("Likely to stop buying: call"),
    "follow_up": _("Follow-up"),
    # win-back plans per dormancy reason (care.plans)
    "winback": _("Win back: the plan for their reason"),
    "winback_review": _("Win-back review by the store manager"),
    # made by the complaint workflow (membercare.service.complaints), each task with its own title
    "complaint_follow_up": _("Complaint follow-up call"),
    "complaint_escalation": _("Complaint past its deadline"),
    # made by after-sales service (membercare.service.aftersales) when an alteration or repair is ready
    "service_order_ready": _("Service order ready: call the member"),
}

SCRIPT_HINTS = {
    "new_member_callback": _("Thank them for the purchase; ask how the item wears; give care and washing advice; "
                             "ask whether they were satisfied with the product, the store and the service."),
    "new_member_weekly": _("Check that their details are complete and correct; tell them their rights as a "
                           "member (discounts, birthday privilege, points)."),
    "a_monthly_call": _("A caring call: life, health, family. Do not sell."),
    "purchase_callback": _("They bought on %(purchase)s: thank them, ask how the item wears, give care and "
                           "washing advice; ask whether they were satisfied."),
    "prospect_follow_up": _("Follow-up %(step)s of %(of)s: they visited but have not bought yet. Ask what they "
                            "were looking for and invite them back; if they are not interested, record it and "
                            "the follow-ups stop."),
    "follow_up_contact": _("Class %(follow_up)s: nobody has been in touch for %(interval)s days. Keep in touch: "
                           "ask how they are; mention what fits them only if they are interested."),
    "develop_contact": _("A member to develop: they buy rarely. Learn what they like, invite them to new "
                         "arrivals and events that suit them."),
    "member_dates": _("%(occasion)s on %(date)s: send wishes only (no promotion), signed with the store and "
                      "your name."),
    "new_stock_call": _("Tell them what has just arrived (%(event)s) that fits their taste and sizes; invite "
                        "them to try it."),
    "pre_holiday_call": _("%(holiday)s is coming: wish them well and ask about their plans; mention nothing "
                          "to buy unless they ask."),
    "spend_drop_call": _("They spend less than they used to: ask how they are and whether anything "
                         "bothered them; listen."),
    "dormant_review": _("No purchase for %(days)s days. First check complaints on record and special "
                        "circumstances, then choose the time and channel; record the reason."),
    "sleeping_call": _("No purchase for %(days)s days: call, ask warmly how they are, and record the reason "
                       "they stopped coming."),
    "birthday_greeting": _("Birthday on %(birthday)s: send wishes only (no promotion), signed with the store "
                           "and your name; prepare the birthday gift."),
    "holiday_greeting": _("%(holiday)s greeting: wishes only, no promotion; sign with the store and your name."),
    "season_greeting": _("%(holiday)s: care about the weather, clothing and diet; no new products."),
    "replenishment": _("They buy %(product)s about every %(days)s days; the next purchase is due around "
                       "%(next_on)s: remind them kindly."),
    "campaign_notice": _("Tell them about %(event)s at least 5 days ahead."),
    "learn_surname": _("You have served this member several times: learn their surname and introduce yourself."),
    "points_expiring": _("%(points)s points expire by %(expires_on)s: remind them kindly that they can use them "
                         "at the counter or for a gift."),
    "slipping_call": _("The purchase model says they may be drifting away: a warm call, no hard selling; ask "
                       "how they are and whether anything put them off."),
    "follow_up": _("The next step agreed last time."),
    "winback_review": _("%(by)s reached the member: they stopped coming because of %(reason_text)s. Read the "
                        "notes (%(notes)s), decide the remedy and who calls back."),
}

# the call script of a win-back plan when HQ has written none (care.plans), per dormancy reason
REASON_SCRIPTS = {
    "quality": _("Apologise for the quality problem, offer to repair or exchange, and invite them to see the "
                 "new season's fabrics."),
    "service": _("Apologise for the service they received, ask what went wrong, and tell them what the store "
                 "has changed."),
    "moved": _("Ask where they live or work now and tell them the nearest store; offer to move their records "
               "there."),
    "elsewhere": _("Ask kindly what they like about where they buy now; tell them what is new here that fits "
                   "them."),
    "travelling": _("Wish them a good trip; ask when they are back and offer to keep new arrivals for them."),
    "busy": _("Keep it short: offer to send pictures of new arrivals and to prepare their sizes before a visit."),
    "no_time": _("Keep it short: offer to send pictures of new arrivals and to prepare their sizes before a "
                 "visit."),
    "other": _("Listen to what kept them away and note it; invite them back without pressure."),
}


def _filled(text, context: dict) -> str:
    if not text:
        return ""
    try:
        return str(text) % _Defaulting(context or {})
    except (KeyError, TypeError, ValueError):
        return str(text)


class _Defaulting(dict):
    def __missing__(self, key):  # a placeholder the context lacks prints as nothing rather than failing
        return ""


def rule_label(rule: str, context: dict | None = None) -> str:
    label = RULE_LABELS.get(rule)
    custom = (context or {}).get("title")
    return str(custom or label or rule)


def script_hint(rule: str, context: dict | None = None) -> str:
    custom = (context or {}).get("script")
    return _filled(custom or SCRIPT_HINTS.get(rule, ""), context or {})
