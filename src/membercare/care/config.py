"""Care settings as data: segment thresholds and care rules (each switchable), versioned in CareConfig.

DEFAULTS is what a new installation starts with (DOMAIN.md "Segments" and "Care plan"); a saved version
holds the whole settings tree, and `care_config()` merges it over DEFAULTS so that a setting added in a
later release has its default until someone changes it.
"""

from __future__ import annotations

from typing import Any

from membercare.core.versioned import latest_merged, merge

__all__ = ["DEFAULTS", "care_config", "merge", "rule_settings"]  # merge is core.versioned's (imported from here too)

DEFAULTS: dict[str, Any] = {
    # the relationship owner re-derived monthly from who served the member most (care.owners)
    "owners": {"rederive": {"enabled": True, "window_days": 365, "day_of_month": 1}},
    # the win-back plan per dormancy reason (care.plans): action, the call script (empty: the reason's default),
    # the target of an upper app's action (a coupon batch's or message template's number), days to do it
    "plans": {reason: {"action": "manager_review" if reason in ("quality", "service") else "script",
                       "script": "", "target": "", "due_days": 7}
              for reason in ("quality", "service", "moved", "elsewhere", "travelling", "busy", "no_time", "other")},
    "segments": {
        "lifecycle": {"new_days": 30, "dormant_days": 90, "sleeping_days": 180, "lost_days": 365},
        "abc": {"window_days": 365, "a_share": 0.20, "b_share": 0.30},
        "seven": {
            "high_value_share": 0.15,  # top share of 12-month sales
            "high_loyalty_share": 0.50, "high_loyalty_max_gap_days": 30,
            "high_ticket_share": 0.15, "ticket_window_days": 183,  # top share by average receipt over ~6 months
            # seed 004's low-ticket segments rank the responders by the revenue marketing brought in over the 12
            # months (care.marketing): top high_freq_share (with a ticket below the responders' median and
            # purchase days above it), bottom low_share (both below)
            "high_freq_share": 0.15, "low_share": 0.15,
            "marketing_response_days": 7,  # a receipt this many days after a bulk send's message answers it
            "sleeping_days": 180,
            "churn_recent_days": 90, "churn_ratio": 0.5, "churn_min_baseline_days": 2,
        },
        "rfm": {"window_days": 365},
        # seed 002's follow-up class (care.segment_ranks.follow_up_sql): turnover = purchase days in the 12
        # months, profitability = paid / the same goods at full price (0.80: on average no more than 20 % off)
        "follow_up": {"turnover_days": 4, "full_price_share": 0.80},
    },
    "rules": {
        "new_member_callback": {"enabled": True, "from_day": 3, "to_day": 7, "channel": "phone", "priority": 10},
        "new_member_weekly": {"enabled": True, "weekday": 0, "channel": "phone", "priority": 20},
        # every purchase above min_amount (yuan) gets a callback from_day..to_day after it (seed 001); the first
        # purchase has new_member_callback instead; at most one every min_gap_days per member
        "purchase_callback": {"enabled": True, "min_amount": "500.00", "from_day_after": 3, "to_day_after": 7,
                              "min_gap_days": 14, "channel": "phone", "priority": 12},
        # seed 002's rhythm per follow-up class: a contact when none was logged (any channel) within the class's
        # interval; new and active members only (dormant and sleeping ones are won back by the rules below)
        "follow_up_contact": {"enabled": True, "a_days": 7, "b_days": 15, "c_days": 30, "grace_days": 2,
                              "purchase_counts": True, "channel": "phone", "priority": 38},
        "develop_contact": {"enabled": True, "d_days": 10, "grace_days": 2, "purchase_counts": True,
                            "channel": "phone", "priority": 42},
        # seed 000 (未成交…多次跟踪): a member registered without a purchase is followed these many days after
        # registering, until they buy or decline
        "prospect_follow_up": {"enabled": True, "days_after": [3, 7, 14], "catch_up_days": 7, "channel": "phone",
                               "priority": 22},
        "a_monthly_call": {"enabled": True, "day_of_month": 1, "due_days": 14, "channel": "phone",
                           "priority": 40},
        "new_stock_call": {"enabled": True, "days_before": 3, "follow_up": ["A"], "channel": "phone",
                           "priority": 35},
        "pre_holiday_call": {"enabled": True, "days_before": 7, "follow_up": ["A"], "channel": "phone",
                             "priority": 45},
        # spend in the recent window (segments.seven.churn_recent_days) below `ratio` x the rate of the rest of
        # the 12 months
        "spend_drop_call": {"enabled": True, "follow_up": ["A", "B"], "ratio": 0.5, "channel": "phone",
                            "priority": 25},
        "dormant_review": {"enabled": True, "days": 90, "channel": "phone", "priority": 30},
        "sleeping_call": {"enabled": True, "days": 180, "channel": "phone", "priority": 30},
        "birthday_greeting": {"enabled": True, "days_before": 7, "channel": "sms", "priority": 15},
        # anniversaries (seed 000: 纪念日) of joining, of the first purchase, and the member's own dates
        "member_dates": {"enabled": True, "days_before": 3, "joining": True, "first_purchase": True,
                         "own_dates": True, "channel": "sms", "priority": 55},
        "holiday_greeting": {"enabled": True, "days_before": 3, "follow_up": ["A", "B"], "channel": "sms",
                             "priority": 60,
                             "holidays": ["new_year", "spring_festival", "lantern", "womens_day", "dragon_boat",
                                          "qixi", "mid_autumn", "national_day", "double_ninth"]},
        "season_greeting": {"enabled": True, "days_before": 2, "follow_up": ["A", "B"], "channel": "sms",
                            "priority": 65},
        "replenishment": {"enabled": True, "days_before": 3, "min_purchases": 3, "channel": "phone",
                          "priority": 30},
        # seed 000: notify old members and those with potential (D, to develop) at least 5 days ahead
        "campaign_notice": {"enabled": True, "days_before": 5, "follow_up": ["A", "B", "C", "D"], "channel": "sms",
                            "priority": 50},
        "learn_surname": {"enabled": True, "visits": 3, "channel": "visit", "priority": 70},
        # issue 19 (seed 003): points about to expire, `days_before` the first lot's date, from `min_points`
        "points_expiring": {"enabled": True, "days_before": 30, "min_points": 100, "follow_up": ["A", "B"],
                            "channel": "sms", "priority": 58},
        # predicted probability of still being active below `threshold` (care.rules.slipping; off by default)
        "slipping_call": {"enabled": False, "threshold": 0.3, "cooldown_days": 90, "due_days": 7,
                          "channel": "phone", "priority": 28},
    },
}


def care_config() -> dict[str, Any]:
    """The settings in force: the latest saved version merged over DEFAULTS."""
    from .models import CareConfig

    return latest_merged(CareConfig, DEFAULTS)


def rule_settings(config: dict[str, Any], code: str) -> dict[str, Any]:
    return config["rules"][code]
