"""Points about to expire (issue 19): a reminder `days_before` the first lot expires, summed per member, from
`min_points`; one per expiry date; its message names the points and the date and passes its content rules."""

import datetime as dt

import pytest
import time_machine

from membercare.loyalty.models import PointsEntry
from membercare.messaging.config import messaging_config
from membercare.messaging.content import content_violations
from membercare.messaging.models import Category, MessageTemplate
from membercare.messaging.task_sends import task_group_preview, task_message_draft
from tests.factories import MemberFactory, StaffFactory

from .conftest import at, tasks

D = dt.date
DAY = D(2026, 12, 1)


def lot(member, points: int, expires_on: dt.date | None, *, remaining: int | None = None) -> PointsEntry:
    return PointsEntry.objects.create(member=member, kind=PointsEntry.Kind.EARN, points=points,
                                      remaining=points if remaining is None else remaining, expires_on=expires_on,
                                      created_at=at(D(2025, 6, 1)))


@pytest.fixture
def members(member_with):
    m = {name: member_with(follow_up="A" if name != "later" else "B", consent_sms=True)
         for name in ("two_lots", "later", "few", "used", "expired", "never")}
    m["class_c"] = member_with(follow_up="C", consent_sms=True)
    m["no_segments"] = MemberFactory(consent_sms=True)
    lot(m["class_c"], 500, DAY + dt.timedelta(days=3))
    lot(m["no_segments"], 500, DAY + dt.timedelta(days=3))
    lot(m["two_lots"], 60, DAY + dt.timedelta(days=10))
    lot(m["two_lots"], 50, DAY + dt.timedelta(days=25))
    lot(m["two_lots"], 500, DAY + dt.timedelta(days=31))  # outside the 30 days: not counted yet
    lot(m["later"], 150, DAY + dt.timedelta(days=31))
    lot(m["few"], 99, DAY + dt.timedelta(days=5))
    lot(m["used"], 300, DAY + dt.timedelta(days=5), remaining=0)  # redeemed already
    lot(m["expired"], 300, DAY - dt.timedelta(days=1))
    lot(m["never"], 300, None)
    return m


@pytest.mark.django_db
def test_a_reminder_when_a_date_comes_within_the_window(members, run_rule, record_run):
    assert run_rule("points_expiring", DAY) == 1
    record_run(DAY, "points_expiring")
    (task,) = tasks("points_expiring")
    by = DAY + dt.timedelta(days=25)  # 60 on the 11th and 50 on the 26th: 110 points expire by the 26th
    assert (task.member_id, task.key, task.due_on) == (members["two_lots"].pk, by.isoformat(), DAY)
    assert task.context == {"points": 110, "expires_on": by.isoformat()}
    assert task.channel == "sms"
    # the next day the lots of the 1 January come within 30 days: "later" is reminded; "two_lots" has one
    # too, but was reminded a day ago (one reminder per member within the 30 days)
    assert run_rule("points_expiring", DAY + dt.timedelta(days=1)) == 1
    record_run(DAY + dt.timedelta(days=1), "points_expiring")
    assert {t.member_id for t in tasks("points_expiring")} == {members["two_lots"].pk, members["later"].pk}
    assert run_rule("points_expiring", DAY + dt.timedelta(days=2)) == 0  # nothing twice
    record_run(DAY + dt.timedelta(days=2), "points_expiring")
    # 31 days on, a new lot's date comes within the window: reminded again, with what is left in the window
    lot(members["two_lots"], 140, DAY + dt.timedelta(days=62))
    for offset in range(3, 32):
        assert run_rule("points_expiring", DAY + dt.timedelta(days=offset)) == 0, offset
        record_run(DAY + dt.timedelta(days=offset), "points_expiring")
    assert run_rule("points_expiring", DAY + dt.timedelta(days=32)) == 1
    newest = tasks("points_expiring", member=members["two_lots"])[-1]
    assert newest.context == {"points": 140, "expires_on": (DAY + dt.timedelta(days=62)).isoformat()}


@pytest.mark.django_db
def test_a_missed_run_catches_up_the_whole_window(members, run_rule, record_run):
    record_run(DAY - dt.timedelta(days=40), "points_expiring")  # the rule was off since
    assert run_rule("points_expiring", DAY) == 1
    assert [t.member_id for t in tasks("points_expiring")] == [members["two_lots"].pk]


@pytest.mark.django_db
def test_the_follow_up_classes_of_the_settings(members, run_rule, care_config):
    care_config["rules"]["points_expiring"]["follow_up"] = ["C"]
    assert run_rule("points_expiring", DAY, care_config) == 1
    assert [t.member_id for t in tasks("points_expiring")] == [members["class_c"].pk]
    care_config["rules"]["points_expiring"]["follow_up"] = []
    assert run_rule("points_expiring", DAY + dt.timedelta(days=1), care_config) == 0


@pytest.mark.django_db
def test_settings_days_and_minimum(members, run_rule, care_config):
    care_config["rules"]["points_expiring"].update(days_before=5, min_points=99)
    assert run_rule("points_expiring", DAY, care_config) == 1
    assert [t.member_id for t in tasks("points_expiring")] == [members["few"].pk]
    care_config["rules"]["points_expiring"]["enabled"] = False  # the daily job skips a disabled rule
    from membercare.care.daily import _enabled

    assert not _enabled("rule:points_expiring", care_config)


@pytest.mark.django_db
def test_the_message_names_the_points_and_the_date(members, run_rule, store):
    clerk = StaffFactory(stores=[store], display_name="李娜")
    run_rule("points_expiring", DAY)
    (task,) = tasks("points_expiring")
    task.assignee = clerk
    task.save(update_fields=["assignee"])
    category, template, channel, body, _subject = task_message_draft(task, clerk)
    assert category == Category.POINTS_EXPIRY and channel == "sms"
    assert template is not None and template.name == "积分到期提醒"  # installed by the migration
    assert "110积分将于2026年12月26日前到期" in body and "李娜" in body and store.name in body
    cat = Category.POINTS_EXPIRY
    assert messaging_config()["content_rules"][cat]
    assert content_violations(cat, template.body) == []
    # a reminder that leaves out the date, or carries a promotion, breaks the category's rules
    assert content_violations(cat, "{title}您好，您有{points_expiring}积分即将到期。")
    assert content_violations(cat, "您有{points_expiring}积分将于{expires_on}到期，全场8折！")
    with time_machine.travel(at(DAY, 11), tick=False):
        (line,) = task_group_preview(staff=clerk, rule="points_expiring", day=DAY)
    assert line.ok and "110积分" in line.body


@pytest.mark.django_db
def test_a_template_of_the_category_is_checked_when_saved():
    assert MessageTemplate.objects.filter(category=Category.POINTS_EXPIRY, is_active=True).count() == 1
