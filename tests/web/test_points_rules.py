"""/programme/points-events/: HQ sets the points for events and the charity items as a new programme version
(the rest of the programme kept); errors are shown at their field; other roles are refused."""

import pytest
from django.urls import reverse
from django.utils import timezone

from membercare.loyalty.models import ProgrammeVersion
from membercare.loyalty.programme import programme_at

pytestmark = pytest.mark.django_db


def _form(**over):
    data = {"effective_from": timezone.localdate().isoformat()}
    for code, points in (("survey", 20), ("profile", 100), ("member_date", 200), ("own_date", 30), ("manual", 5000)):
        data.update({f"{code}_points": points, f"{code}_yearly_cap": max(points, 100) * 2, f"{code}_valid_days": ""})
    data.update({"c0_code": "school", "c0_name": "希望工程助学", "c0_active": "on"})
    data.update(over)
    return data


def test_hq_saves_the_points_for_events_and_the_charities(login, specialist):
    client = login(specialist)
    page = client.get(reverse("points_rules"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200 and "事件积分" in page.content.decode() and "会员纪念日" in page.content.decode()
    assert client.post(reverse("points_rules"), _form(survey_valid_days="90")).status_code == 302
    programme = programme_at()
    assert programme.earn_event("survey").points == 20 and programme.earn_event("survey").valid_days == 90
    assert programme.earn_event("member_date").yearly_cap == 400
    assert (programme.earn_event("own_date").points, programme.earn_event("own_date").yearly_cap) == (30, 200)
    assert [(c.code, c.name, c.active) for c in programme.charities] == [("school", "希望工程助学", True)]
    assert ProgrammeVersion.objects.latest("pk").rules["tiers"]  # the rest of the programme kept


def test_a_wrong_value_is_shown_at_its_field(login, specialist):
    client = login(specialist)
    page = client.post(reverse("points_rules"), _form(survey_points=50, survey_yearly_cap=10, c0_code="School!"),
                       HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 400 and "年度上限" in page.content.decode()
    assert not ProgrammeVersion.objects.filter(rules__earn_events__survey__points=50).exists()


def test_a_clerk_may_not(login, clerk):
    assert login(clerk).get(reverse("points_rules")).status_code == 403
