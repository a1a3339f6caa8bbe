"""Service settings as data (versioned in ServiceSettings; DEFAULTS is what a new installation has).

complaints:
  deadline_hours     per severity, hours from opening until the complaint must be settled (then escalated)
  follow_up_days     the follow-up task's due date, counted from the day the result was recorded
  repeat_threshold   complaints of the same kind (same member and category, or same product and category
                     across members) within `repeat_period_days` that make a repeat worth a root-cause look
  escalation_priority, follow_up_priority   the priority of the care tasks created (lower comes first)
surveys:
  after_contact_rules  a contact logged from a task of one of these care rules, with the member reached,
                       sends a satisfaction survey (a callback)
  after_complaint      a closed complaint sends one
  valid_days           how long a survey link can be answered
  base_url             the public address links start with (empty: settings.MEMBERCARE_PUBLIC_URL, else the
                       request's host: membercare.core.public)
"""

from __future__ import annotations

from typing import Any

from membercare.core.versioned import latest_merged

DEFAULTS: dict[str, Any] = {
    "complaints": {
        "deadline_hours": {"high": 24, "medium": 72, "low": 168},
        "follow_up_days": 3,
        "repeat_threshold": 2,
        "repeat_period_days": 90,
        "escalation_priority": 5,
        "follow_up_priority": 15,
    },
    "surveys": {
        "after_contact_rules": ["new_member_callback"],
        "after_complaint": True,
        "valid_days": 14,
        "base_url": "",
    },
}


def service_config() -> dict[str, Any]:
    """The settings in force: the latest saved version merged over DEFAULTS."""
    from .models import ServiceSettings

    return latest_merged(ServiceSettings, DEFAULTS)
