"""Points for events as programme data (issue 19 part 2): survey answered, profile completed, the membership
anniversary, manual adjustments with a category; each once per key, within a yearly cap, valid per the rule."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from membercare.loyalty.models import LoyaltyAccount, PointsEntry, ProgrammeVersion
from membercare.loyalty.points import ledger_sum, points_adjust
from membercare.loyalty.points_events import (
    earn_event,
    member_date_points_due,
    own_date_points_due,
    profile_complete,
)
from membercare.loyalty.programme import parse_programme
from membercare.loyalty.programme_services import normalize_rules
from membercare.members.services import member_update
from membercare.org.models import Role
from membercare.service.surveys import survey_answer, survey_send
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")

EVENTS = {"survey": {"points": 20, "yearly_cap": 50, "valid_days": 90},
          "profile": {"points": 100, "yearly_cap": 100, "valid_days": None},
          "member_date": {"points": 200, "yearly_cap": 200, "valid_days": None},
          "own_date": {"points": 50, "yearly_cap": 80, "valid_days": 30},
          "manual": {"points": 1000, "yearly_cap": 1500, "valid_days": None}}


def _programme(events=EVENTS, **more):
    return ProgrammeVersion.objects.create(effective_from=dt.date(2000, 1, 1),
                                           rules=normalize_rules({"earn_events": events, **more}),
                                           created_at=dt.datetime(2026, 1, 1, tzinfo=TZ))


def _balance(member):
    return LoyaltyAccount.objects.filter(member=member).values_list("points", flat=True).first() or 0


# ------------------------------------------------------------------------------------------- the rules


def test_default_programme_has_every_event_off_but_manual():
    programme = parse_programme({})
    assert {c: e.points for c, e in programme.earn_events.items()} == {
        "survey": 0, "profile": 0, "member_date": 0, "own_date": 0, "manual": 5000}
    assert programme.charities == ()


@pytest.mark.parametrize(("events", "field"), [
    ({"survey": {"points": -1}}, "earn_events.survey.points"),
    ({"survey": {"points": "ten"}}, "earn_events.survey.points"),
    ({"survey": {"points": True}}, "earn_events.survey.points"),
    ({"survey": {"points": 50, "yearly_cap": 20}}, "earn_events.survey.yearly_cap"),
    ({"survey": {"valid_days": 0}}, "earn_events.survey.valid_days"),
    ({"survey": {"bonus": 1}}, "earn_events.survey.bonus"),
    ({"review": {"points": 1}}, "earn_events.review"),
    ({"survey": []}, "earn_events.survey"),
])
def test_a_wrong_event_rule_is_refused_naming_its_field(events, field):
    with pytest.raises(ValidationError) as exc:
        normalize_rules({"earn_events": events})
    assert field in exc.value.message_dict


def test_a_partial_rules_document_keeps_the_other_events_defaults():
    doc = normalize_rules({"earn_events": {"survey": {"points": "30", "yearly_cap": 60}}})
    assert doc["earn_events"]["survey"] == {"points": 30, "yearly_cap": 60, "valid_days": None}
    assert doc["earn_events"]["manual"]["points"] == 5000


# ------------------------------------------------------------------------------------------ the survey


def test_a_survey_answered_earns_once_with_its_validity(chain, member):
    _programme()
    at = dt.datetime(2026, 5, 1, 10, tzinfo=TZ)
    survey, token = survey_send(member=member, store=chain.shop, clerk=chain.clerk, source="callback", at=at)
    survey_answer(token=token, csat=5, nps=9, at=at + dt.timedelta(hours=1))
    entry = PointsEntry.objects.get(member=member, source="survey")
    assert (entry.points, entry.source_key, entry.expires_on) == (20, f"survey:{survey.pk}", dt.date(2026, 7, 30))
    assert entry.get_source_display() and _balance(member) == 20 == ledger_sum(member)
    # the same survey again (a second submit, a direct call) earns nothing more
    with pytest.raises(ValidationError):
        survey_answer(token=token, csat=5, nps=9, at=at + dt.timedelta(hours=2))
    assert earn_event(member=member, event="survey", key=str(survey.pk), at=at) is None
    assert _balance(member) == 20


def test_the_yearly_cap_gives_the_rest_then_nothing_until_next_year(chain, member):
    _programme()
    at = dt.datetime(2026, 3, 1, 10, tzinfo=TZ)
    got = [earn_event(member=member, event="survey", key=str(i), at=at) for i in range(4)]
    assert [e.points if e else None for e in got] == [20, 20, 10, None]
    assert earn_event(member=member, event="survey", key="9", at=dt.datetime(2027, 1, 2, tzinfo=TZ)).points == 20
    assert _balance(member) == 70 == ledger_sum(member)


def test_an_event_that_is_off_earns_nothing(chain, member):
    at = dt.datetime(2026, 3, 1, 10, tzinfo=TZ)
    assert earn_event(member=member, event="survey", key="1", at=at) is None
    assert not PointsEntry.objects.filter(member=member).exists()


# ---------------------------------------------------------------------------------------- the profile


def test_the_profile_earns_the_first_time_it_is_complete_and_never_again(chain):
    _programme()
    member = MemberFactory(home_store=chain.shop, address="")
    assert not profile_complete(member)
    member_update(member=member, data={"occupation": "律师"}, by=chain.clerk)
    assert not PointsEntry.objects.filter(member=member).exists()
    member_update(member=member, data={"address": "上海市静安区南京西路1号"}, by=chain.clerk)
    entry = PointsEntry.objects.get(member=member)
    assert (entry.points, entry.source, entry.source_key) == (100, "profile", "profile")
    member_update(member=member, data={"address": ""}, by=chain.clerk)
    member_update(member=member, data={"address": "北京市朝阳区建国门外大街1号"}, by=chain.clerk)
    assert PointsEntry.objects.filter(member=member).count() == 1 and _balance(member) == 100


# ----------------------------------------------------------------------------- the membership anniversary


def test_the_anniversary_earns_once_a_year_on_the_day(chain):
    _programme()
    joined = MemberFactory(home_store=chain.shop, created_at=dt.datetime(2024, 6, 15, 20, tzinfo=TZ))
    leap = MemberFactory(home_store=chain.shop, created_at=dt.datetime(2024, 2, 29, 9, tzinfo=TZ))
    new = MemberFactory(home_store=chain.shop, created_at=dt.datetime(2026, 6, 15, 9, tzinfo=TZ))
    assert member_date_points_due(dt.date(2026, 6, 14)) == 0
    assert member_date_points_due(dt.date(2026, 6, 15)) == 1
    assert member_date_points_due(dt.date(2026, 6, 15)) == 0  # a second run the same day
    assert _balance(joined) == 200 and _balance(new) == 0
    assert PointsEntry.objects.get(member=joined).source_key == "member_date:2026"
    assert member_date_points_due(dt.date(2026, 2, 28)) == 1 and _balance(leap) == 200  # 29 Feb in a common year
    assert member_date_points_due(dt.date(2027, 6, 15)) == 2 and _balance(joined) == 400 and _balance(new) == 200


def test_the_dates_a_member_gave_earn_once_a_year_solar_and_lunar_within_the_cap(chain):
    from membercare.members.models import MemberDate

    _programme()
    wed = MemberFactory(home_store=chain.shop)
    two = MemberFactory(home_store=chain.shop)
    erased = MemberFactory(home_store=chain.shop, erased_at=dt.datetime(2026, 1, 1, tzinfo=TZ))
    made = dt.datetime(2025, 1, 1, tzinfo=TZ)
    wedding = MemberDate.objects.create(member=wed, name="结婚纪念日", month=6, day=15, created_at=made)
    MemberDate.objects.create(member=erased, name="结婚纪念日", month=6, day=15, created_at=made)
    # two dates of one member: a leap day (kept on 28 February in a common year) and a lunar 八月十五
    MemberDate.objects.create(member=two, name="孩子生日", month=2, day=29, created_at=made)
    lunar = MemberDate.objects.create(member=two, name="父亲农历生日", calendar="lunar", month=8, day=15,
                                      created_at=made)
    assert own_date_points_due(dt.date(2026, 6, 14)) == 0
    assert own_date_points_due(dt.date(2026, 6, 15)) == 1
    assert own_date_points_due(dt.date(2026, 6, 15)) == 0  # a second run the same day
    entry = PointsEntry.objects.get(member=wed)
    assert entry.points == 50 and entry.source == "own_date" and entry.source_key == f"own_date:{wedding.pk}:2026"
    assert "结婚纪念日" in entry.reason and entry.expires_on == dt.date(2026, 7, 15)  # valid 30 days
    assert not PointsEntry.objects.filter(member=erased).exists()
    assert own_date_points_due(dt.date(2026, 2, 28)) == 1 and _balance(two) == 50
    # 2026's 八月十五 is 25 September: the second date that year reaches the yearly cap of 80 (30 more, not 50)
    assert own_date_points_due(dt.date(2026, 9, 25)) == 1 and _balance(two) == 80
    assert PointsEntry.objects.get(source_key=f"own_date:{lunar.pk}:2026").points == 30
    assert own_date_points_due(dt.date(2027, 6, 15)) == 1 and _balance(wed) == 100


def test_the_dates_earn_nothing_while_the_event_is_off(chain):
    from membercare.members.models import MemberDate

    wed = MemberFactory(home_store=chain.shop)
    MemberDate.objects.create(member=wed, name="结婚纪念日", month=6, day=15,
                              created_at=dt.datetime(2025, 1, 1, tzinfo=TZ))
    assert own_date_points_due(dt.date(2026, 6, 15)) == 0 and _balance(wed) == 0


# ---------------------------------------------------------------------------------- manual adjustments


def test_a_manual_adjustment_needs_a_category_a_reason_and_stays_in_its_bounds(chain, member):
    _programme()
    hq = StaffFactory(role=Role.SPECIALIST)
    with pytest.raises(ValidationError) as exc:
        points_adjust(member=member, points=100, reason="补录", by=hq, category="")
    assert "category" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        points_adjust(member=member, points=100, reason="  ", by=hq, category="correction")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        points_adjust(member=member, points=1001, reason="补录", by=hq, category="correction")
    assert "points" in exc.value.message_dict
    entry = points_adjust(member=member, points=1000, reason="补录开业活动积分", by=hq, category="compensation")
    assert (entry.kind, entry.source, entry.points) == ("adjust", "compensation", 1000)
    assert entry.reason.endswith("补录开业活动积分")
    with pytest.raises(ValidationError) as exc:  # 1,500 a year added by hand at most
        points_adjust(member=member, points=600, reason="补录", by=hq, category="goodwill")
    assert "500" in exc.value.message_dict["points"][0]
    down = points_adjust(member=member, points=-300, reason="重复发放", by=hq, category="correction")
    assert (down.points, down.source) == (-300, "correction")
    assert _balance(member) == 700 == ledger_sum(member)
    with pytest.raises(PermissionDenied):  # a clerk may not
        points_adjust(member=member, points=10, reason="x", by=chain.clerk, category="other")


def test_the_points_liability_sums_balances_ledger_and_open_lots(chain, member):
    from decimal import Decimal

    from membercare.loyalty.donations import points_donate
    from membercare.loyalty.points import points_liability

    _programme(charities=[{"code": "school", "name": "希望工程助学"}])
    other = MemberFactory(home_store=chain.shop)
    at = dt.datetime(2026, 3, 1, 10, tzinfo=TZ)
    earn_event(member=member, event="survey", key="1", at=at)
    earn_event(member=other, event="member_date", key="2026", at=at)
    points_donate(member=other, charity="school", points=50, at=at)
    books = points_liability()
    assert books["balances"] == books["ledger"] == books["open_lots"] == 20 + 200 - 50
    assert books["by_kind"] == {"earn": 220, "donation": -50}
    assert books["value"] == Decimal("1.70")  # at ¥0.01 a point
    with pytest.raises(ValidationError) as exc:
        points_donate(member=member, charity="school", points=21, at=at)
    assert "points" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        points_donate(member=member, charity="nowhere", points=1, at=at)
    assert "charity" in exc.value.message_dict


def test_the_analytics_points_summary_counts_donations(chain, member):
    from membercare.analytics import measures
    from membercare.analytics.measures import Scope
    from membercare.loyalty.donations import points_donate

    _programme(charities=[{"code": "school", "name": "希望工程助学"}])
    at = dt.datetime(2026, 3, 1, 10, tzinfo=TZ)
    earn_event(member=member, event="member_date", key="2026", at=at)
    points_donate(member=member, charity="school", points=80, at=at)
    summary = measures.points_summary(Scope(None, dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert (summary["issued"], summary["donated"], summary["outstanding"]) == (200, 80, 120)
