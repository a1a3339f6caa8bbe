"""Messaging settings as data (versioned in MessagingSettings; DEFAULTS is what a new installation has).

content_rules: per category, the checks a template and a message must pass (DOMAIN.md "Messages"):
  forbid_words     words or phrases that must not appear (case-insensitive)
  forbid_patterns  regular expressions that must not match
  require          placeholders or texts that must appear (e.g. the store's and the clerk's name)
Each check has a `rule` text that the refusal names, so the editor can say which words broke which rule.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from membercare.core.versioned import latest_merged

PROMOTION_WORDS = ["打折", "折扣", "优惠", "促销", "特价", "满减", "满送", "抢购", "秒杀", "活动", "新品", "上新",
                   "到店", "限时", "券", "积分兑换", "sale", "discount", "% off", "promotion", "offer"]
NEW_PRODUCT_WORDS = ["新品", "新款", "上新", "新到", "到货", "新货", "new arrival", "new collection", "just arrived"]
WHAT_HAPPENED = ["发生什么", "出了什么事", "怎么了", "是不是不满意", "为什么不来", "为什么没来", "有什么问题",
                 "what happened", "is something wrong", "why haven't you"]

GREETING_RULES = [
    {"rule": gettext_noop("Greetings carry wishes only: no promotions or store activities."),
     "forbid_words": PROMOTION_WORDS, "forbid_patterns": [r"\d+(\.\d+)?\s*折", r"\d+\s*%\s*off"]},
    {"rule": gettext_noop("Greetings are signed with the store and the clerk's name."),
     "require": ["{store}", "{clerk}"]},
]

DEFAULTS: dict[str, Any] = {
    "content_rules": {
        "birthday": GREETING_RULES,
        "holiday": GREETING_RULES,
        "season": [
            {"rule": gettext_noop("Season-change messages care about weather, clothing and diet: no new "
                                  "products."), "forbid_words": NEW_PRODUCT_WORDS},
            {"rule": gettext_noop("Season-change messages carry no promotions."), "forbid_words": PROMOTION_WORDS},
        ],
        "missing_you": [
            {"rule": gettext_noop("Missing-you messages never ask whether something happened."),
             "forbid_words": WHAT_HAPPENED, "forbid_patterns": [r"(是不是|是否).{0,6}(发生|出了|不满)"]},
            {"rule": gettext_noop("Missing-you messages are signed by the clerk."), "require": ["{clerk}"]},
        ],
        "new_arrivals": [],
        "promotion": [],
        "callback": [],
        "survey": [{"rule": gettext_noop("A survey message carries the survey link."), "require": ["{link}"]}],
        "event": [],
        "verification": [],  # transactional: the system's code message (messaging.otp)
        "points_expiry": [
            {"rule": gettext_noop("A points reminder names the points and the date they expire."),
             "require": ["{points_expiring}", "{expires_on}"]},
            {"rule": gettext_noop("A points reminder is a notice: no promotions."),
             "forbid_words": [w for w in PROMOTION_WORDS if w != "积分兑换"],
             "forbid_patterns": [r"\d+(\.\d+)?\s*折"]},
        ],
    },
    "marketing_categories": ["new_arrivals", "promotion", "event"],
    "quiet_hours": {"start": "21:00", "end": "09:00"},
    "weekly_cap": 2,  # marketing messages per member per 7 days
    "sms": {"segment_chars": 70, "long_segment_chars": 67, "price_per_segment": "0.045", "sign_name": "会员之家"},
    "email": {"price": "0.00"},
    "wechat": {"price": "0.00"},
    "retry": {"max_attempts": 5, "backoff_seconds": 30, "backoff_factor": 4},
    "preferred_times": {"morning": ["09:00", "12:00"], "noon": ["12:00", "14:00"], "afternoon": ["14:00", "18:00"],
                        "evening": ["18:00", "21:00"]},
}


def messaging_config() -> dict[str, Any]:
    """The settings in force: the latest saved version merged over DEFAULTS."""
    from .models import MessagingSettings

    return latest_merged(MessagingSettings, DEFAULTS)
