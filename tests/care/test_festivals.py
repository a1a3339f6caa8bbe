"""Festivals as data (issue 20): the nine built-in festivals seeded, Women's Day greeting women only (a gender
resolved when the rule runs; a saved audience restricts a festival too), a lunar festival added by HQ greeted on its
converted date to its audience, switching off, refusals, the pages."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from lunardate import LunarDate

from membercare.audiences.models import Audience
from membercare.audiences.services import audience_create, audience_delete
from membercare.care.calendar_writes import festival_create, festival_update
from membercare.care.config import care_config
from membercare.care.daily import _step_warnings
from membercare.care.festivals import festival_days_between
from membercare.care.models import CareConfig, Festival

from .conftest import keys, tasks

D = dt.date
WOMEN = {"include": {"op": "and", "items": [{"type": "gender", "params": {"values": ["F"]}}]},
         "exclude": {"op": "or", "items": []}}


@pytest.mark.django_db
def test_the_nine_festivals_are_seeded_with_their_dates():
    assert list(Festival.objects.order_by("pk").values_list("code", flat=True)) == care_config()["rules"][
        "holiday_greeting"]["holidays"]
    days = {d.code: d.on for d in festival_days_between(D(2026, 1, 1), D(2026, 12, 31))}
    assert days == {"new_year": D(2026, 1, 1), "spring_festival": D(2026, 2, 17), "lantern": D(2026, 3, 3),
                    "womens_day": D(2026, 3, 8), "dragon_boat": D(2026, 6, 19), "qixi": D(2026, 8, 19),
                    "mid_autumn": D(2026, 9, 25), "national_day": D(2026, 10, 1), "double_ninth": D(2026, 10, 18)}
    assert list(Festival.objects.exclude(gender="").values_list("code", "gender")) == [("womens_day", "F")]
    assert not Audience.objects.exists()  # no audience is created for it: the gender is resolved when it runs


@pytest.mark.django_db
class TestWomensDay:
    def test_the_greeting_reaches_women_not_men(self, member_with, run_rule):
        woman = member_with(follow_up="A", gender="F")
        member_with(follow_up="A", gender="M")
        other_woman = member_with(follow_up="B", gender="F")
        assert run_rule("holiday_greeting", D(2026, 3, 5)) == 2
        assert keys("holiday_greeting") == {(woman.pk, "womens_day:2026"), (other_woman.pk, "womens_day:2026")}
        assert tasks("holiday_greeting")[0].context["holiday"] == "妇女节"

    def test_without_the_restriction_everyone_the_rule_picks(self, member_with, run_rule, specialist):
        member_with(follow_up="A", gender="F")
        member_with(follow_up="A", gender="M")
        festival_update(festival=Festival.objects.get(code="womens_day"), by=specialist, gender="")
        assert run_rule("holiday_greeting", D(2026, 3, 5)) == 2

    def test_a_saved_audience_restricts_it_too(self, member_with, run_rule, specialist):
        young = member_with(follow_up="A", gender="F", birthday=D(2000, 1, 1))
        member_with(follow_up="A", gender="F", birthday=D(1960, 1, 1))
        member_with(follow_up="A", gender="M", birthday=D(2000, 1, 1))
        under_40 = audience_create(by=specialist, name="40岁以下", definition={
            "include": {"op": "and", "items": [{"type": "age", "params": {"max": 39}}]},
            "exclude": {"op": "or", "items": []}})
        festival_update(festival=Festival.objects.get(code="womens_day"), by=specialist, audience_id=under_40.pk)
        assert run_rule("holiday_greeting", D(2026, 3, 5)) == 1
        assert keys("holiday_greeting") == {(young.pk, "womens_day:2026")}

    def test_an_audience_gone_greets_nobody_and_warns(self, member_with, run_rule):
        member_with(follow_up="A", gender="F")
        Festival.objects.filter(code="mid_autumn").update(audience_id=10**9)
        token = _step_warnings.set([])
        try:
            assert run_rule("holiday_greeting", D(2026, 9, 22)) == 0
            warnings = _step_warnings.get()
        finally:
            _step_warnings.reset(token)
        assert any("中秋节" in w for w in warnings)

    def test_an_audience_used_by_a_festival_cannot_be_deleted(self, specialist):
        audience = audience_create(by=specialist, name="女士们", definition=WOMEN)
        festival_update(festival=Festival.objects.get(code="qixi"), by=specialist, audience_id=audience.pk)
        with pytest.raises(ValidationError) as exc:
            audience_delete(audience, by=specialist)
        assert "七夕" in " ".join(exc.value.messages)
        assert Audience.objects.filter(pk=audience.pk).exists()


@pytest.mark.django_db
class TestAddedByHQ:
    def test_a_lunar_festival_added_by_hq_is_greeted_on_its_date_to_its_audience(self, member_with, run_rule,
                                                                                  specialist):
        women = audience_create(by=specialist, name="女士们", definition=WOMEN)
        festival = festival_create(by=specialist, name="腊八节", calendar="lunar", month=12, day=8,
                                   audience_id=women.pk, greeting="{title}，腊八节快乐！", channel="wechat")
        on = LunarDate(2026, 12, 8).to_solar_date()  # 2027-01-15
        assert on == D(2027, 1, 15)
        config = care_config()
        assert festival.code in config["rules"]["holiday_greeting"]["holidays"]
        assert CareConfig.objects.get().note == "新增节日：腊八节"
        woman = member_with(follow_up="A", gender="F")
        member_with(follow_up="A", gender="M")
        assert run_rule("holiday_greeting", on - dt.timedelta(days=4), config) == 0
        assert run_rule("holiday_greeting", on - dt.timedelta(days=3), config) == 1
        (task,) = tasks("holiday_greeting")
        assert (task.member_id, task.key, task.due_on, task.channel) == (woman.pk, f"{festival.code}:2027", on,
                                                                         "wechat")
        assert task.context == {"holiday": "腊八节", "holiday_code": festival.code, "holiday_on": "2027-01-15",
                                "greeting": "{title}，腊八节快乐！"}

    def test_a_festival_switched_off_is_not_greeted(self, member_with, run_rule, specialist):
        member_with(follow_up="A")
        festival_update(festival=Festival.objects.get(code="mid_autumn"), by=specialist, active=False)
        assert run_rule("holiday_greeting", D(2026, 9, 22)) == 0
        assert run_rule("pre_holiday_call", D(2026, 9, 18)) == 0

    def test_a_solar_festival_moved_by_hq(self, member_with, run_rule, specialist):
        member = member_with(follow_up="B")
        festival_update(festival=Festival.objects.get(code="national_day"), by=specialist, month=10, day=2)
        assert run_rule("holiday_greeting", D(2026, 9, 28)) == 0
        assert run_rule("holiday_greeting", D(2026, 9, 29)) == 1
        assert tasks("holiday_greeting")[0].due_on == D(2026, 10, 2) and keys("holiday_greeting") == {
            (member.pk, "national_day:2026")}

    @pytest.mark.parametrize("values, field", [
        ({"name": ""}, "name"), ({"name": "节" * 31}, "name"), ({"calendar": "julian"}, "calendar"),
        ({"month": 13}, "month"), ({"month": "x"}, "month"), ({"calendar": "lunar", "day": 31}, "day"),
        ({"month": 2, "day": 30}, "day"), ({"audience_id": 10**9}, "audience_id"), ({"channel": "fax"}, "channel"),
        ({"greeting": "x" * 501}, "greeting"), ({"greeting": "a\x00b"}, "greeting"), ({"gender": "X"}, "gender"),
    ])
    def test_refusals_name_the_field_and_write_nothing(self, specialist, values, field):
        good = {"name": "店庆", "calendar": "solar", "month": 5, "day": 20}
        before = Festival.objects.count()
        with pytest.raises(ValidationError) as exc:
            festival_create(by=specialist, **{**good, **values})
        assert field in exc.value.error_dict
        assert Festival.objects.count() == before and not CareConfig.objects.exists()

    def test_only_hq_may_change_festivals(self, clerk, manager):
        for user in (clerk, manager):
            with pytest.raises(PermissionDenied):
                festival_create(by=user, name="店庆", calendar="solar", month=5, day=20)
            with pytest.raises(PermissionDenied):
                festival_update(festival=Festival.objects.first(), by=user, active=False)

    def test_29_february_is_greeted_on_the_28th_in_a_common_year(self, member_with, run_rule, specialist):
        member_with(follow_up="A")
        festival = festival_create(by=specialist, name="闰日会员日", calendar="solar", month=2, day=29)
        assert run_rule("holiday_greeting", D(2027, 2, 25), care_config()) == 1
        assert tasks("holiday_greeting")[0].key == f"{festival.code}:2027"
        assert tasks("holiday_greeting")[0].due_on == D(2027, 2, 28)


@pytest.mark.django_db
class TestPages:
    def test_hq_lists_adds_edits_and_switches_off(self, login, specialist):
        client = login(specialist)
        page = client.get(reverse("care_festivals")).content.decode()
        assert "妇女节" in page and "仅女性" in page and "农历 8/15" in page
        response = client.post(reverse("care_festivals"), {"name": "腊八节", "calendar": "lunar", "month": "12",
                                                           "day": "8", "active": "on", "channel": "",
                                                           "greeting": ""})
        assert response.status_code == 302
        festival = Festival.objects.get(name="腊八节")
        assert (festival.calendar, festival.month, festival.day, festival.active) == ("lunar", 12, 8, True)
        response = client.post(reverse("care_festival_edit", args=[festival.pk]), {
            "name": "腊八节", "calendar": "lunar", "month": "12", "day": "8", "channel": "sms", "greeting": ""})
        assert response.status_code == 302
        festival.refresh_from_db()
        assert not festival.active and festival.channel == "sms"
        settings_page = client.get(reverse("care_settings")).content.decode()
        assert "腊八节" in settings_page

    def test_bad_input_is_answered_in_chinese_and_nothing_saved(self, login, specialist):
        client = login(specialist)
        response = client.post(reverse("care_festivals"), {"name": "", "calendar": "lunar", "month": "13",
                                                           "day": "31"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "has-error" in page and "This field" not in page
        assert Festival.objects.count() == 9

    def test_clerks_and_managers_are_refused(self, login, clerk, manager):
        for user in (clerk, manager):
            client = login(user)
            assert client.get(reverse("care_festivals")).status_code == 403
            pk = Festival.objects.first().pk
            assert client.post(reverse("care_festival_edit", args=[pk]), {"name": "x"}).status_code == 403


@pytest.mark.django_db
def test_the_festivals_greeting_text_is_the_tasks_message(member_with, run_rule, specialist, clerk):
    from membercare.messaging.task_sends import task_message_draft

    festival_update(festival=Festival.objects.get(code="mid_autumn"), by=specialist,
                    greeting="{title}，中秋团圆！{store}敬上")
    member = member_with(follow_up="A", name="王芳", gender="F")
    assert run_rule("holiday_greeting", D(2026, 9, 22)) == 1
    (task,) = tasks("holiday_greeting")
    _category, _template, _channel, body, _subject = task_message_draft(task, clerk)
    assert body == f"{member.title}，中秋团圆！{member.home_store.name}敬上"
