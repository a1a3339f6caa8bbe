"""The care rules of DOMAIN.md's care plan: code -> function(day, config) -> number of tasks created.

The daily job (care.daily) runs them in this order, each in its own transaction, after the segments step;
each reads its settings from config["rules"][code] (care.config.DEFAULTS) and creates tasks through
care.taskgen (idempotent: (rule, member, key) is unique). An app above care adds its own rule with
`register_rule` from its AppConfig.ready (prediction's slipping_call), so care never imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .cadence import develop_contact, follow_up_contact, prospect_follow_up, purchase_callback
from .dates import birthday_greeting, holiday_greeting, member_dates, pre_holiday_call, season_greeting
from .events import campaign_notice, new_stock_call
from .lifecycle import (
    a_monthly_call,
    dormant_review,
    new_member_callback,
    new_member_weekly,
    sleeping_call,
    spend_drop_call,
)
from .points import points_expiring
from .purchases import learn_surname, replenishment

Rule = Callable[[dt.date, dict], int]

RULES: dict[str, Rule] = {
    "new_member_callback": new_member_callback,
    "purchase_callback": purchase_callback,
    "new_member_weekly": new_member_weekly,
    "prospect_follow_up": prospect_follow_up,
    "a_monthly_call": a_monthly_call,
    "new_stock_call": new_stock_call,
    "pre_holiday_call": pre_holiday_call,
    "spend_drop_call": spend_drop_call,
    "dormant_review": dormant_review,
    "sleeping_call": sleeping_call,
    "birthday_greeting": birthday_greeting,
    "member_dates": member_dates,
    "holiday_greeting": holiday_greeting,
    "season_greeting": season_greeting,
    "replenishment": replenishment,
    "campaign_notice": campaign_notice,
    "learn_surname": learn_surname,
    "follow_up_contact": follow_up_contact,
    "develop_contact": develop_contact,
    "points_expiring": points_expiring,
}


def register_rule(code: str, rule: Rule) -> None:
    """Add a rule run after those above (in registration order); registering it again replaces it."""
    RULES[code] = rule
