"""Care pages: the clerk's task list and the one-screen contact log (htmx), the manager's store view
(numbers by clerk, reassignment, a clerk leaving), the care settings editor, care events, the profile's
segments and contacts; permissions on the server."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext, ngettext, pgettext

from membercare.analytics.measures import Scope, tasks_by_clerk
from membercare.care.config import DEFAULTS, care_config
from membercare.care.contacts import contact_log
from membercare.care.models import CareConfig, CareEvent, Contact, MemberSegments, SegmentSpan, Task, TaskStatus
from membercare.org.models import Role
from membercare.web.care.forms import CareSettingsForm
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 6, 10)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 6, 10, 10, tzinfo=TZ), tick=False):
        yield TODAY


@pytest.fixture
def colleague(store):
    return StaffFactory(username="colleague", display_name="李娜", role=Role.CLERK, stores=[store])


@pytest.fixture
def member(store, clerk):
    return MemberFactory(name="王丽", home_store=store, owner=clerk, clothing_size="M", shoe_size="37")


def task(member, assignee, *, rule="new_member_callback", due=TODAY, key=None, priority=50, **kw):
    return Task.objects.create(rule=rule, key=key or f"{rule}:{due}:{assignee.pk if assignee else 0}", member=member,
                               store=member.home_store, assignee=assignee, created_on=due - dt.timedelta(days=5),
                               due_on=due, priority=priority, **kw)


def card_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="card task[^"]*" id="task-(\d+)"', page)]


# ---------------------------------------------------------------------------------------- task list


def test_task_list_shows_todays_and_overdue_tasks_in_order(login, clerk, colleague, member, store):
    other = MemberFactory(name="赵敏", home_store=store)
    birthday = task(member, clerk, rule="birthday_greeting", priority=15)
    callback = task(other, clerk, rule="new_member_callback", priority=10)
    overdue = task(other, clerk, rule="a_monthly_call", due=TODAY - dt.timedelta(days=3), priority=40)
    task(member, clerk, rule="learn_surname", due=TODAY + dt.timedelta(days=1))  # not yet due
    task(member, colleague, rule="dormant_review")  # someone else's
    task(member, clerk, rule="sleeping_call", status=TaskStatus.DONE)  # done
    page = login(clerk).get(reverse("care_tasks")).content.decode()
    # one card per member, members with an overdue task first, then by priority; in a card the overdue task
    # leads and the member's other task of today is listed with it and closed by the same contact
    assert card_ids(page) == [overdue.pk, birthday.pk]
    overdue_card = page[page.index(f'id="task-{overdue.pk}"'):page.index(f'id="task-{birthday.pk}"')]
    assert 'data-rule="new_member_callback"' in overdue_card and f'name="also" value="{callback.pk}"' in overdue_card
    assert "overdue" in page[page.index(f'id="task-{overdue.pk}"') - 40:page.index(f'id="task-{overdue.pk}"')]
    assert ngettext("Overdue by %(n)s day", "Overdue by %(n)s days", 3) % {"n": 3} in overdue_card  # not only colour
    assert re.search(r'badge overdue">⚠', overdue_card)
    assert "badge overdue" not in page[page.index(f'id="task-{birthday.pk}"'):]
    # key facts and the script hint
    birthday_card = page[page.index(f'id="task-{birthday.pk}"'):]
    assert "王丽" in birthday_card and "37" in birthday_card and f"tel:{member.phone}" in birthday_card
    assert str(gettext("Log the contact")) in birthday_card


def test_task_card_shows_the_last_contact_and_card(login, clerk, member):
    from membercare.loyalty.models import Card

    Card.objects.create(number="E000000001", member=member, kind="elite", brand=member.home_store.brand,
                        issued_at=dt.datetime(2025, 1, 1, tzinfo=TZ))
    contact_log(member=member, staff=clerk, channel="phone", outcome="reached", notes="喜欢深色大衣",
                at=dt.datetime(2026, 5, 1, 15, tzinfo=TZ))
    task(member, clerk)
    page = login(clerk).get(reverse("care_tasks")).content.decode()
    assert "喜欢深色大衣" in page and "2026-05-01" in page
    assert str(gettext("Elite card")) in page


def test_logging_a_contact_with_htmx_removes_the_task(login, clerk, member):
    t = task(member, clerk)
    client = login(clerk)
    p = f"t{t.pk}-"
    response = client.post(reverse("care_task_contact", args=[t.pk]), {
        p + "channel": "phone", p + "outcome": "reached", p + "notes": "很满意", p + "next_step": "秋装到店通知",
        p + "next_due_on": "2026-06-20"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="task-{t.pk}"' not in body  # the card is replaced by nothing
    assert 'id="care-flash"' in body and 'hx-swap-oob="true"' in body and "王丽" in body
    t.refresh_from_db()
    assert t.status == TaskStatus.DONE and t.done_by == clerk
    contact = Contact.objects.get()
    assert contact.notes == "很满意" and contact.task == t
    follow = Task.objects.get(rule="follow_up")
    assert follow.due_on == dt.date(2026, 6, 20) and follow.assignee == clerk
    assert card_ids(client.get(reverse("care_tasks")).content.decode()) == []


def test_errors_come_back_inline_with_what_was_typed(login, clerk, member):
    t = task(member, clerk, rule="dormant_review")
    p = f"t{t.pk}-"
    response = login(clerk).post(reverse("care_task_contact", args=[t.pk]), {
        p + "channel": "phone", p + "outcome": "reached", p + "notes": "说最近搬家了",
        p + "next_step": "下月再问"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="task-{t.pk}"' in body and "<details class=\"log\" open" in body
    assert gettext("The member was reached: record why they stopped coming.") in body
    assert "说最近搬家了" in body and 'value="下月再问"' in body
    assert re.search(rf'value="reached"[^>]*id="id_{p}outcome_0"[^>]*checked|value="reached"[^>]*checked', body)
    t.refresh_from_db()
    assert t.status == TaskStatus.OPEN and Contact.objects.count() == 0
    # a bad date is refused by the form, in Chinese
    response = login(clerk).post(reverse("care_task_contact", args=[t.pk]), {
        p + "channel": "phone", p + "outcome": "no_answer", p + "next_due_on": "2026-06-01"}, **HTMX)
    assert gettext("The next contact cannot be in the past.") in response.content.decode()


def test_without_htmx_the_contact_form_still_works(login, clerk, member):
    t = task(member, clerk)
    p = f"t{t.pk}-"
    response = login(clerk).post(reverse("care_task_contact", args=[t.pk]), {
        p + "channel": "sms", p + "outcome": "message_sent"})
    assert response.status_code == 302 and response.url == reverse("care_tasks")
    assert Task.objects.get(pk=t.pk).status == TaskStatus.DONE


def test_a_clerk_cannot_log_on_another_stores_task(login, member, clerk, other_store):
    stranger = StaffFactory(role=Role.CLERK, stores=[other_store])
    t = task(member, clerk)
    p = f"t{t.pk}-"
    response = login(stranger).post(reverse("care_task_contact", args=[t.pk]), {
        p + "channel": "phone", p + "outcome": "reached"}, **HTMX)
    assert response.status_code == 403
    assert Task.objects.get(pk=t.pk).status == TaskStatus.OPEN and Contact.objects.count() == 0
    assert login(stranger).get(reverse("care_member_contact", args=[member.pk])).status_code == 403


def test_contact_from_the_profile_without_a_task(login, clerk, member):
    client = login(clerk)
    assert client.get(reverse("care_member_contact", args=[member.pk])).status_code == 200
    response = client.post(reverse("care_member_contact", args=[member.pk]), {
        "channel": "visit", "outcome": "reached", "notes": "到店试穿"})
    assert response.status_code == 302 and response.url == reverse("member_detail", args=[member.pk])
    assert Contact.objects.get().notes == "到店试穿"


# ------------------------------------------------------------------------------------- manager view


@pytest.fixture
def store_case(store, clerk, colleague, member):
    """Clerk: one done on time, one done late, one overdue, one open; colleague: one done on time."""
    on_time = task(member, clerk, key="a", due=dt.date(2026, 6, 3), status=TaskStatus.DONE,
                   done_at=dt.datetime(2026, 6, 3, 18, tzinfo=TZ))
    late = task(member, clerk, key="b", due=dt.date(2026, 6, 4), status=TaskStatus.DONE,
                done_at=dt.datetime(2026, 6, 6, 9, tzinfo=TZ))
    overdue = task(member, clerk, key="c", due=dt.date(2026, 6, 8))
    upcoming = task(member, clerk, key="d", due=dt.date(2026, 6, 10))
    task(member, colleague, key="e", due=dt.date(2026, 6, 5), status=TaskStatus.DONE,
         done_at=dt.datetime(2026, 6, 5, 23, 30, tzinfo=TZ))  # 23:30 in Shanghai is still the due day
    task(member, clerk, key="f", due=dt.date(2026, 5, 20), status=TaskStatus.DONE,
         done_at=dt.datetime(2026, 5, 20, 10, tzinfo=TZ))  # before the period
    return {"overdue": overdue, "upcoming": upcoming, "late": late, "on_time": on_time}


def test_store_tasks_by_clerk(store, clerk, colleague, manager, store_case):
    """The store view counts with the analytics measure (one definition of on time: on time / due)."""
    rows = tasks_by_clerk(Scope((store.pk,), dt.date(2026, 6, 1), TODAY),
                          staff_ids=[clerk.pk, colleague.pk, manager.pk])
    lines = {r["assignee_id"]: r for r in rows}
    mine = lines[clerk.pk]
    assert (mine["on_time"], mine["late"], mine["overdue"], mine["not_yet_due"]) == (1, 1, 1, 1)
    assert mine["due"] == 4 and str(mine["on_time_rate"]) == "0.2500"  # due 06-03, 06-04, 06-08, 06-10 (today)
    assert (lines[colleague.pk]["on_time"], lines[colleague.pk]["late"]) == (1, 0)
    assert lines[manager.pk]["due"] == 0 and lines[manager.pk]["on_time_rate"] is None


def test_manager_page_shows_the_numbers(login, manager, store_case):
    page = login(manager).get(reverse("care_store")).content.decode()
    row = page[page.index('data-staff="clerk"'):]
    row = row[:row.index("</tr>")]
    cells = dict(re.findall(r'data-col="(\w+)">(?:<strong>⚠ )?(\d+)', row))
    assert cells == {"due": "4", "on_time": "1", "late": "1", "overdue": "1", "open": "1", "on_time_rate": "25"}
    assert "25.0%" in row  # on time / due, as the dashboards (not on time / done)
    assert f'value="{store_case["overdue"].pk}"' in page and f'value="{store_case["upcoming"].pk}"' in page


def test_manager_reassigns_ticked_tasks(login, manager, store, colleague, store_case):
    client = login(manager)
    response = client.post(reverse("care_store_reassign"), {
        "store": store.pk, "tasks": [store_case["overdue"].pk, store_case["late"].pk], "to_staff": colleague.pk})
    assert response.status_code == 302
    assert Task.objects.get(pk=store_case["overdue"].pk).assignee == colleague
    assert Task.objects.get(pk=store_case["late"].pk).assignee.username == "clerk"  # done: stays
    page = client.get(response.url).content.decode()
    assert "李娜" in page
    # nothing ticked: an error, nothing moved
    client.post(reverse("care_store_reassign"), {"store": store.pk, "to_staff": colleague.pk})
    assert Task.objects.get(pk=store_case["upcoming"].pk).assignee.username == "clerk"


def test_manager_hands_over_a_leaving_clerk(login, manager, store, clerk, colleague, member, store_case):
    response = login(manager).post(reverse("care_store_leave"), {
        "store": store.pk, "leave-staff": clerk.pk, "leave-to_staff": colleague.pk})
    assert response.status_code == 302
    assert not Task.objects.filter(assignee=clerk, status=TaskStatus.OPEN).exists()
    assert Task.objects.filter(assignee=colleague, status=TaskStatus.OPEN).count() == 2
    member.refresh_from_db()
    assert member.owner == colleague and not clerk.stores.exists()


def test_store_view_permissions(login, clerk, specialist, store, other_store, manager):
    assert login(clerk).get(reverse("care_store")).status_code == 403
    assert login(clerk).post(reverse("care_store_reassign"), {"store": store.pk}).status_code == 403
    assert login(manager).get(reverse("care_store"), {"store": other_store.pk}).status_code == 403
    assert login(specialist).get(reverse("care_store"), {"store": other_store.pk}).status_code == 200


# ------------------------------------------------------------------------------------- settings editor


def settings_data(**changes):
    """What the editor shows, as the browser would post it back, with some fields changed."""
    form = CareSettingsForm(config=care_config(),
                            base_version=CareConfig.objects.values_list("pk", flat=True).order_by("-pk").first())
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):
            data[name] = value
        elif value is not None:
            data[name] = str(value)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_settings_editor_saves_a_version_and_history_shows_old_and_new(login, specialist):
    client = login(specialist)
    page = client.get(reverse("care_settings")).content.decode()
    assert 'name="s__segments__lifecycle__dormant_days" value="90"' in page
    assert 'name="s__segments__abc__a_share" value="20"' in page  # shares as percent
    assert 'name="s__rules__birthday_greeting__enabled"' in page and "<textarea" not in page
    response = client.post(reverse("care_settings"), settings_data(**{
        "s__segments__lifecycle__dormant_days": "100", "s__segments__abc__a_share": "25",
        "s__rules__birthday_greeting__enabled": None, "note": "春季调整"}))
    assert response.status_code == 302 and response.url == reverse("care_settings_history")
    version = CareConfig.objects.get()
    assert version.created_by == specialist and version.note == "春季调整"
    config = care_config()
    assert config["segments"]["lifecycle"]["dormant_days"] == 100 and config["segments"]["abc"]["a_share"] == 0.25
    assert config["rules"]["birthday_greeting"]["enabled"] is False
    assert config["rules"]["holiday_greeting"]["holidays"] == DEFAULTS["rules"]["holiday_greeting"]["holidays"]
    history = client.get(reverse("care_settings_history")).content.decode()
    assert "春季调整" in history and str(specialist) in history
    assert re.search(r"<td>90</td><td>→ 100</td>", history) and re.search(r"<td>20%</td><td>→ 25%</td>", history)
    assert history.count("<tr>") == 1 + 3  # header + the three changes


def test_settings_editor_refuses_bad_input_in_chinese(login, specialist):
    client = login(specialist)
    response = client.post(reverse("care_settings"), settings_data(**{
        "s__rules__dormant_review__days": "0", "s__segments__abc__a_share": "150"}))
    assert response.status_code == 200
    page = response.content.decode()
    assert "确保该值小于或等于100。" in page  # the form's own check
    response = client.post(reverse("care_settings"), settings_data(**{"s__rules__dormant_review__days": "0"}))
    page = response.content.decode()
    assert "须在 1 到 3650 之间。" in page  # care_config_save's check, next to the field
    assert 'value="0"' in page  # what was typed stays
    response = client.post(reverse("care_settings"), settings_data(**{
        "s__segments__lifecycle__sleeping_days": "60"}))
    assert escape(gettext("Days must grow: new < dormant < sleeping < lost.")) in response.content.decode()
    assert CareConfig.objects.count() == 0


@pytest.mark.parametrize("user", ["clerk", "manager"])
def test_settings_and_events_are_for_hq_only(login, request, user):
    client = login(request.getfixturevalue(user))
    for name in ("care_settings", "care_settings_history", "care_events"):
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("care_settings"), {"note": "x"}).status_code == 403
    assert client.post(reverse("care_events"), {"kind": "campaign", "title": "x",
                                                "starts_on": "2026-07-01"}).status_code == 403
    assert CareConfig.objects.count() == 0 and CareEvent.objects.count() == 0
    page = client.get(reverse("care_tasks")).content.decode()
    assert reverse("care_tasks") in page and reverse("care_settings") not in page


def test_care_events_list_and_form(login, specialist):
    client = login(specialist)
    response = client.post(reverse("care_events"), {"kind": "new_stock", "title": "秋季新款到店",
                                                    "starts_on": "2026-09-01", "ends_on": "2026-08-01"})
    assert response.status_code == 200
    assert gettext("The last day cannot come before the first day.") in response.content.decode()
    response = client.post(reverse("care_events"), {"kind": "new_stock", "title": "秋季新款到店",
                                                    "starts_on": "2026-09-01", "ends_on": "2026-09-30"})
    assert response.status_code == 302
    event = CareEvent.objects.get()
    assert event.created_by == specialist
    assert "秋季新款到店" in client.get(reverse("care_events")).content.decode()
    response = client.post(reverse("care_event_edit", args=[event.pk]), {
        "kind": "campaign", "title": "秋季会员日", "starts_on": "2026-09-01"})
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.kind == "campaign" and event.title == "秋季会员日" and event.ends_on is None


# ------------------------------------------------------------------------------------------- profile


def test_profile_shows_segments_history_and_contacts(login, clerk, member):
    MemberSegments.objects.create(member=member, computed_on=TODAY, lifecycle="dormant", spend_class="A",
                                  rfm_r=2, rfm_f=4, rfm_m=5, pyramid="major", follow_up="A", high_value=True,
                                  last_purchase_on=dt.date(2026, 3, 1))
    SegmentSpan.objects.create(member=member, valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 5, 30),
                               lifecycle="active", spend_class="A", rfm_r=5, rfm_f=4, rfm_m=5, follow_up="A")
    SegmentSpan.objects.create(member=member, valid_from=dt.date(2026, 5, 30), lifecycle="dormant", spend_class="A",
                               rfm_r=2, rfm_f=4, rfm_m=5, follow_up="A", high_value=True)
    contact_log(member=member, staff=clerk, channel="phone", outcome="reached", notes="最近出差", reason="travelling")
    page = login(clerk).get(reverse("member_detail", args=[member.pk])).content.decode()
    panel = page[page.index('id="segments"'):]
    assert re.search(r'data-seg="lifecycle">' + re.escape(pgettext("lifecycle", "Dormant")), panel)
    assert "R2 F4 M5" in panel and gettext("High value") in panel
    assert "2026-01-01" in panel and "2026-05-29" in panel  # the earlier span, until the day before the next
    timeline = page[page.index('class="timeline"'):]
    assert 'data-kind="contact"' in timeline and "最近出差" in timeline
    assert reverse("care_member_contact", args=[member.pk]) in page


def test_profile_before_the_first_daily_run(login, clerk, member):
    page = login(clerk).get(reverse("member_detail", args=[member.pk])).content.decode()
    assert 'id="segments"' in page
    assert gettext("Not computed yet: the daily job classifies every member each night.") in page


def test_task_list_queries_do_not_grow_with_the_tasks(login, clerk, store):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(clerk)

    def queries(n):
        for i in range(n):
            m = MemberFactory(home_store=store)
            task(m, clerk, key=f"q{n}-{i}")
            contact_log(member=m, staff=clerk, channel="phone", outcome="reached", notes=f"第{i}次")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("care_tasks")).status_code == 200
        return len(ctx)

    few = queries(2)
    assert queries(10) == few  # 12 tasks now, same number of queries


def test_settings_editor_edits_the_cadence(login, specialist):
    """Issue 20: the follow-up class thresholds, the rhythm's intervals, the prospects' days and the callback's
    amount are edited on the page; bad days and amounts come back in Chinese and nothing is saved."""
    client = login(specialist)
    page = client.get(reverse("care_settings")).content.decode()
    assert 'name="s__segments__follow_up__full_price_share" value="80"' in page
    assert 'name="s__rules__prospect_follow_up__days_after" value="3, 7, 14"' in page
    assert 'name="s__rules__purchase_callback__min_amount" value="500.00"' in page
    response = client.post(reverse("care_settings"), settings_data(**{
        "s__rules__prospect_follow_up__days_after": "7, 3"}))
    assert response.status_code == 200 and "天数须从小到大，例如 3, 7, 14。" in response.content.decode()
    response = client.post(reverse("care_settings"), settings_data(**{
        "s__rules__prospect_follow_up__days_after": "三"}))
    assert "整数天数，从小到大，用逗号分隔，例如 3, 7, 14" in response.content.decode()
    assert CareConfig.objects.count() == 0
    response = client.post(reverse("care_settings"), settings_data(**{
        "s__rules__follow_up_contact__b_days": "14", "s__rules__prospect_follow_up__days_after": "2，5、9",
        "s__rules__purchase_callback__min_amount": "800.5", "s__segments__follow_up__full_price_share": "75"}))
    assert response.status_code == 302
    config = care_config()
    assert config["rules"]["follow_up_contact"]["b_days"] == 14
    assert config["rules"]["prospect_follow_up"]["days_after"] == [2, 5, 9]
    assert config["rules"]["purchase_callback"]["min_amount"] == "800.50"
    assert config["segments"]["follow_up"]["full_price_share"] == 0.75


def test_home_visit_is_a_contact_channel(login, clerk, member):
    client = login(clerk)
    page = client.get(reverse("care_member_contact", args=[member.pk])).content.decode()
    assert 'value="home_visit"' in page and "上门拜访" in page
    response = client.post(reverse("care_member_contact", args=[member.pk]),
                           {"channel": "home_visit", "outcome": "reached", "notes": "送上新款画册"})
    assert response.status_code == 302
    assert Contact.objects.get(member=member).channel == "home_visit"


def test_member_dates_on_the_profile(login, clerk, member):
    client = login(clerk)
    url = reverse("member_date_add", args=[member.pk])
    response = client.post(url, {"name": "结婚纪念日", "calendar": "solar", "month": "4", "day": "31"})
    assert response.status_code == 400 and "该月没有这一天。" in response.content.decode()
    assert not member.dates.exists()
    response = client.post(url, {"name": "结婚纪念日", "calendar": "lunar", "month": "8", "day": "15"})
    assert response.status_code == 302
    page = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert "结婚纪念日 · 农历 8/15" in page and "会员纪念日" in page  # the date and its line in the history
    date = member.dates.get()
    response = client.post(reverse("member_date_remove", args=[member.pk, date.pk]))
    assert response.status_code == 302 and not member.dates.exists()
