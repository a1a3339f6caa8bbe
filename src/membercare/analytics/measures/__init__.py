"""The measures the business watches, one definition each (the face of this package's modules, by family).

DOMAIN.md "Measures the business watches", read from the facts (analytics.models, filled by analytics.facts) so
that the whole chain answers in well under a second: `base` (the scope, money, rates), `sales`, `points`,
`segments` (members, segments, churn), `tasks` (care tasks on time), `tiles` (complaints, campaigns, stored
value, gift cards) and `clerk` (a clerk's own work, live).

A `Scope` is a set of stores (None: the whole chain) and a period of local days [start, end] (inclusive).
Sales are attributed to the store of the receipt; member counts, segments, points balance and cohorts to
the member's registration store (Member.home_store). Money is Decimal yuan (2 places); rates are Decimal
shares in [0, 1] (None when the denominator is zero).
"""

from .base import ACTIVE_BASE, CENT, CHURNED, VIP_SHARE_TARGET, Scope, money, percent, rate, week_start
from .clerk import clerk_members, clerk_sales, clerk_tasks_by_week
from .points import points_by_month, points_outstanding, points_summary
from .sales import SALES_FIELDS, sales_by_week, sales_summary
from .segments import churn_by_month, churn_rate, members_registered, segment_summary, snapshot_day
from .tasks import TASK_FIELDS, task_totals, tasks_by_clerk
from .tiles import aftersales_tile, campaign_tile, complaint_tile, gift_card_summary, stored_value_summary

__all__ = [
    "ACTIVE_BASE", "CENT", "CHURNED", "SALES_FIELDS", "TASK_FIELDS", "VIP_SHARE_TARGET", "Scope", "aftersales_tile",
    "campaign_tile",
    "churn_by_month", "churn_rate", "clerk_members", "clerk_sales", "clerk_tasks_by_week", "complaint_tile",
    "gift_card_summary", "members_registered", "money", "percent", "points_by_month", "points_outstanding",
    "points_summary", "rate", "sales_by_week", "sales_summary", "segment_summary", "snapshot_day",
    "stored_value_summary", "task_totals", "tasks_by_clerk", "week_start",
]
