"""The dashboard's complaint tile: counts and time to resolve on a hand-built set."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.utils import translation

from membercare.service.complaints import complaint_open
from membercare.service.selectors import complaint_stats

from .conftest import walk

TZ = ZoneInfo("Asia/Shanghai")


def test_complaint_stats_count_the_period_and_average_hours_to_the_result(clerk, member, store, other_store):
    def opened(when, store=store):
        with time_machine.travel(when, tick=False):
            return complaint_open(by=clerk, member=member, store=store, category="quality", severity="high",
                                  description="起球")

    first = opened(dt.datetime(2026, 10, 31, 23, 30, tzinfo=TZ))  # the day before the period: not opened in it
    second = opened(dt.datetime(2026, 11, 2, 9, 0, tzinfo=TZ))
    opened(dt.datetime(2026, 11, 3, 9, 0, tzinfo=TZ))  # still at its first step: open and, later, overdue
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, 30, tzinfo=TZ), tick=False):  # 10 h after opening
        walk(first, clerk, until="follow_up")
    with time_machine.travel(dt.datetime(2026, 11, 2, 13, 0, tzinfo=TZ), tick=False):  # 4 h after opening
        walk(second, clerk, until="follow_up")
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=TZ), tick=False):
        with translation.override("en"):
            stats = complaint_stats([store], dt.date(2026, 11, 1), dt.date(2026, 11, 30))
            elsewhere = complaint_stats([other_store], dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert stats == {"Opened": 2, "Closed": 0, "Open now": 3, "Overdue now": 3, "Average hours to resolve": 7.0}
    assert elsewhere["Opened"] == 0 and elsewhere["Average hours to resolve"] == "—"
