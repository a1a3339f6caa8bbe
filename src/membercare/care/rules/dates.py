"""Rules on the calendar: birthdays, festivals (greeting and, for A members, a call) and season changes.

Festivals are HQ's data (care.Festival: name, solar or lunar month and day, an optional saved audience, greeting
text and channel); their dates and the season changes come from care.calendar (lunar calendar and solar terms).
A festival's tasks are created `days_before` it, or on the first run after that day while the festival has not
passed; each festival fires once (see base.fires), and the key (festival code and year) keeps it to one task per member.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db.models import Case, CharField, F, IntegerField, Q, Value, When
from django.db.models.functions import Cast, Concat, ExtractDay, ExtractMonth, JSONObject
from django.utils.translation import gettext

from membercare.members.dates import lunar_codes_on, solar_month_days_on
from membercare.members.models import Member

from .. import calendar as care_calendar
from .. import festivals as care_festivals
from ..models import MemberSegments
from ..step_warnings import warn
from ..taskgen import insert_select
from .base import CONTACTABLE, date_value, default_language, fires, previous_run, rule_config, spec

# "before major holidays" when the rule's settings name none
MAJOR_HOLIDAYS = ["new_year", "spring_festival", "dragon_boat", "mid_autumn", "national_day"]


def _warn_calendar(day: dt.date, until: dt.date) -> None:
    for message in care_calendar.calendar_warnings(set(range(day.year, until.year + 1))):
        warn(message)


def _festival_rule(code: str, day: dt.date, config: dict[str, Any], *, seasons: bool, default_holidays: list[str],
                   latest_before: int) -> int:
    """Tasks for the festivals (or season starts) whose creation day (date - days_before) has come and no
    earlier run saw, up to `latest_before` days before the date (0: the day itself); due that last day.
    Festivals are care.Festival's active rows (HQ's data); a festival restricted to a saved audience reaches
    only its members (care.festivals' hook), with the festival's own channel and greeting text when it has
    them."""
    s = rule_config(config, code)
    lead = int(s.get("days_before", 3))
    until = day + dt.timedelta(days=lead)
    _warn_calendar(day, until)
    prev = previous_run(code, day)
    wanted = None if seasons else set(s.get("holidays", default_holidays))
    if seasons:
        feasts = [(d.code, d.on, d.name, None) for d in care_calendar.days_between(day, until, seasons=True)]
    else:
        feasts = [(d.code, d.on, d.festival.name, d.festival)
                  for d in care_festivals.festival_days_between(day, until)]
    created = 0
    for feast_code, on, feast_name, festival in feasts:
        due = on - dt.timedelta(days=latest_before)
        if (wanted is not None and feast_code not in wanted) or due < day:
            continue
        if not fires(on - dt.timedelta(days=lead), day, prev):
            continue
        with default_language():
            name = str(feast_name)
        members = MemberSegments.objects.filter(follow_up__in=s.get("follow_up", ["A", "B"]))
        if code == "pre_holiday_call":  # a call: new and active members only (greetings go to everyone)
            members = members.filter(lifecycle__in=CONTACTABLE)
        context = {"holiday": Value(name), "holiday_code": Value(feast_code), "holiday_on": Value(on.isoformat())}
        task_spec = spec(code, day, config)
        if festival is not None and festival.audience_id is not None:
            ids = care_festivals.audience_member_ids(festival.audience_id, day)
            if ids is None:
                with default_language():
                    warn(gettext("The audience of the festival “%(name)s” no longer exists: nobody was greeted "
                                 "for it. Choose another audience on the festivals page.") % {"name": name})
                continue
            members = members.filter(member_id__in=ids)
        if festival is not None and festival.gender:
            members = members.filter(member__gender=festival.gender)
        if festival is not None and code == "holiday_greeting":
            if festival.greeting:
                context["greeting"] = Value(festival.greeting)
            if festival.channel:
                task_spec = dataclasses.replace(task_spec, channel=festival.channel)
        rows = (members
                .values(t_member=F("member_id"), t_key=Value(f"{feast_code}:{on.year}"),
                        t_due=date_value(due), t_context=JSONObject(**context)))
        created += insert_select(task_spec, rows)
    return created


def holiday_greeting(day: dt.date, config: dict[str, Any]) -> int:
    """A greeting `days_before` (3) each festival of the rule's list, to the follow-up classes (A, B); due on
    the festival. Key: festival code and year (mid_autumn:2026)."""
    return _festival_rule("holiday_greeting", day, config, seasons=False,
                          default_holidays=care_calendar.FESTIVAL_CODES, latest_before=0)


def pre_holiday_call(day: dt.date, config: dict[str, Any]) -> int:
    """A call to the follow-up classes (A) `days_before` (7) each major holiday (the rule's `holidays`, by
    default New Year, Spring Festival, Dragon Boat, Mid-Autumn, National Day); due the day before it."""
    return _festival_rule("pre_holiday_call", day, config, seasons=False, default_holidays=MAJOR_HOLIDAYS,
                          latest_before=1)


def season_greeting(day: dt.date, config: dict[str, Any]) -> int:
    """A season-change greeting `days_before` (2) 立春, 立夏, 立秋 and 立冬, to the follow-up classes (A, B);
    due on the day the season starts. Key: season code and year (autumn_begins:2026)."""
    return _festival_rule("season_greeting", day, config, seasons=True, default_holidays=[], latest_before=0)


# --- birthdays ---------------------------------------------------------------------------------------------

def birthday_greeting(day: dt.date, config: dict[str, Any]) -> int:
    """Greeting and gift reminder `days_before` (7) the birthday: every birthday from today to today + 7
    (so a missed day is made up; on time the task appears exactly 7 days before). Key and due date: the
    birthday's date in the year it is celebrated (a 3 January birthday is greeted from 27 December of the
    year before, key 2027-01-03). A member who celebrates the lunar birthday is greeted on its solar date
    for that year; someone born on 29 February is greeted for 28 February in a common year."""
    code = "birthday_greeting"
    s = rule_config(config, code)
    until = day + dt.timedelta(days=int(s.get("days_before", 7)))
    targets = [day + dt.timedelta(days=i) for i in range((until - day).days + 1)]
    _warn_calendar(day, until)
    task_spec = spec(code, day, config)
    lunar_recorded = Q(celebrates_lunar=True, lunar_birthday_month__isnull=False, lunar_birthday_day__isnull=False)

    solar = {md: on for on in targets for md in solar_month_days_on(on)}
    created = _birthday_insert(
        task_spec, Member.objects.exclude(lunar_recorded),
        ExtractMonth("birthday") * 100 + ExtractDay("birthday"), solar, lunar=False)
    lunar = {lc: on for on in targets for lc in lunar_codes_on(on)}
    if lunar:
        lunar_code = (Case(When(lunar_birthday_leap=True, then=Value(10000)), default=Value(0),
                           output_field=IntegerField())
                      + F("lunar_birthday_month") * 100 + F("lunar_birthday_day"))
        created += _birthday_insert(task_spec, Member.objects.filter(lunar_recorded), lunar_code, lunar, lunar=True)
    return created


def _birthday_insert(task_spec, members, code_expr, by_code: dict[int, dt.date], *, lunar: bool) -> int:
    if not by_code:
        return 0
    key = Case(*(When(b_code=c, then=Value(on.isoformat())) for c, on in by_code.items()))
    due = Case(*(When(b_code=c, then=date_value(on)) for c, on in by_code.items()))
    rows = (members.annotate(b_code=code_expr).filter(b_code__in=list(by_code))
            .values(t_member=F("pk"), t_key=key, t_due=due,
                    t_context=JSONObject(birthday=key, calendar=Value("lunar" if lunar else "solar"))))
    return insert_select(task_spec, rows)


# --- anniversaries (seed 000: 纪念日) ------------------------------------------------------------------------

def member_dates(day: dt.date, config: dict[str, Any]) -> int:
    """Anniversary greetings `days_before` (3) the date, from today to today + days_before (a missed day is made
    up), due on the date: of joining (the registration day, from the first anniversary on; `joining`), of the
    first purchase (`first_purchase`) and the dates the member gave (members.MemberDate, solar or lunar;
    `own_dates`). 29 February is greeted on the 28th in a common year; a lunar date as the lunar birthday.
    Keys: joining:<year>, first_purchase:<year>, date:<id>:<year> (the year of the greeting). A greeting is
    wishes only: messaging's greeting rules apply to what is sent."""
    from django.db.models.functions import TruncDate

    from membercare.members.models import MemberDate

    code = "member_dates"
    s = rule_config(config, code)
    until = day + dt.timedelta(days=int(s.get("days_before", 3)))
    targets = [day + dt.timedelta(days=i) for i in range((until - day).days + 1)]
    _warn_calendar(day, until)
    task_spec = spec(code, day, config)
    solar = {md: on for on in targets for md in solar_month_days_on(on)}
    with default_language():
        joining_name, first_name = gettext("Anniversary of joining"), gettext("Anniversary of the first purchase")
    created = 0

    def when(by_code: dict[int, dt.date], value) -> Case:
        return Case(*(When(b_code=c, then=value(on)) for c, on in by_code.items()))

    def iso(on: dt.date) -> Value:
        return Value(on.isoformat())

    def year(on: dt.date) -> Value:
        return Value(on.year)

    if s.get("joining", True):
        local = TruncDate("created_at")  # in the current time zone (Asia/Shanghai)
        rows = (Member.objects.annotate(b_local=local)
                .annotate(b_code=ExtractMonth("b_local") * 100 + ExtractDay("b_local"))
                .filter(b_code__in=list(solar)).annotate(b_year=when(solar, year))
                .filter(b_local__year__lt=F("b_year"))
                .values(t_member=F("pk"), t_key=Concat(Value("joining:"), Cast(when(solar, year), CharField())),
                        t_due=when(solar, date_value),
                        t_context=JSONObject(occasion=Value(joining_name), date=when(solar, iso))))
        created += insert_select(task_spec, rows)
    if s.get("first_purchase", True):
        rows = (MemberSegments.objects.filter(first_purchase_on__isnull=False)
                .annotate(b_code=ExtractMonth("first_purchase_on") * 100 + ExtractDay("first_purchase_on"))
                .filter(b_code__in=list(solar)).annotate(b_year=when(solar, year))
                .filter(first_purchase_on__year__lt=F("b_year"))
                .values(t_member=F("member_id"),
                        t_key=Concat(Value("first_purchase:"), Cast(when(solar, year), CharField())),
                        t_due=when(solar, date_value),
                        t_context=JSONObject(occasion=Value(first_name), date=when(solar, iso))))
        created += insert_select(task_spec, rows)
    if s.get("own_dates", True):
        lunar = {lc: on for on in targets for lc in lunar_codes_on(on)}
        for calendar, by_code, code_expr in (
                ("solar", solar, F("month") * 100 + F("day")),
                ("lunar", lunar, Case(When(leap=True, then=Value(10000)), default=Value(0),
                                      output_field=IntegerField()) + F("month") * 100 + F("day"))):
            if not by_code:
                continue
            rows = (MemberDate.objects.filter(calendar=calendar, member__erased_at__isnull=True)
                    .annotate(b_code=code_expr).filter(b_code__in=list(by_code))
                    .values(t_member=F("member_id"),
                            t_key=Concat(Value("date:"), Cast("pk", CharField()), Value(":"),
                                         Cast(when(by_code, year), CharField())),
                            t_due=when(by_code, date_value),
                            t_context=JSONObject(occasion=F("name"), date=when(by_code, iso),
                                                 calendar=Value(calendar))))
            created += insert_select(task_spec, rows)
    return created
