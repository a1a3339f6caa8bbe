"""Shared pieces of the care rules: settings, the previous run, and small SQL expressions for both databases.

A rule is `function(day, config) -> int` (tasks created). Every rule is idempotent through the unique
(rule, member, key) of a task; the rules that touch a whole class of members at once (monthly calls,
holidays, season changes, events) also fire only once per trigger, using the last day this rule's step
finished (`previous_run`), so the daily job does not re-check 200,000 members every day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings as django_settings
from django.db.models import CharField, DateField, Func, IntegerField, Max, Value
from django.utils import translation

from ..models import DailyRun
from ..taskgen import TaskSpec

ONE_DAY = dt.timedelta(days=1)
# the lifecycles a relationship contact (the cadence, caring and pre-holiday calls, new stock, spend drop) goes
# to: dormant, sleeping and lost members are won back instead (dormant_review, sleeping_call), prospects have
# their own follow-ups (DOMAIN.md's care plan)
CONTACTABLE = ("new", "active")


def rule_config(config: dict[str, Any], code: str) -> dict[str, Any]:
    return config["rules"].get(code, {})


def spec(code: str, day: dt.date, config: dict[str, Any]) -> TaskSpec:
    return TaskSpec.from_settings(code, day, rule_config(config, code))


def previous_run(code: str, day: dt.date) -> dt.date | None:
    """The last day before `day` on which this rule's step of the daily job finished (None: never)."""
    return (DailyRun.objects.filter(day__lt=day, steps__has_key=f"rule:{code}")
            .aggregate(last=Max("day"))["last"])


def fires(trigger: dt.date, day: dt.date, prev: dt.date | None) -> bool:
    """A once-only trigger (a task creation day) is due today: it has come, and no earlier run saw it."""
    return trigger <= day and (prev is None or prev < trigger)


def default_language():
    """Names stored in a task's context (holiday, event) are written in the site's language."""
    return translation.override(django_settings.LANGUAGE_CODE)


def date_value(day: dt.date) -> Value:
    return Value(day, output_field=DateField())


class IsoDate(Func):
    """A date column as 'YYYY-MM-DD' text (a task key)."""

    def __init__(self, expression: Any) -> None:
        super().__init__(expression, output_field=CharField())

    def as_sql(self, compiler, connection, **extra):  # SQLite stores dates as ISO text
        return compiler.compile(self.source_expressions[0])

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"to_char({sql}, 'YYYY-MM-DD')", params


class AddDays(Func):
    """date + n days (n an int constant)."""

    def __init__(self, expression: Any, days: int) -> None:
        self.days = int(days)
        super().__init__(expression, output_field=DateField())

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, '{self.days:+d} days')", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} + {self.days:d})", params


class DaysSince(Func):
    """Whole days from a date column to `day` (day - column)."""

    def __init__(self, expression: Any, day: dt.date) -> None:
        self.day = day
        super().__init__(expression, output_field=IntegerField())

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(julianday(%s) - julianday({sql}) AS INTEGER)", [self.day.isoformat(), *params]

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(%s::date - {sql})", [self.day, *params]


def vendor() -> str:
    from django.db import connection

    return connection.vendor


def sql_iso(expr: str) -> str:
    return f"to_char({expr}, 'YYYY-MM-DD')" if vendor() == "postgresql" else expr


def sql_add_days(expr: str, days_expr: str) -> str:
    if vendor() == "postgresql":
        return f"({expr} + ({days_expr})::integer)"
    return f"date({expr}, ({days_expr}) || ' days')"


def sql_days_between(later: str, earlier: str) -> str:
    if vendor() == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def sql_date_param() -> str:
    return "%s::date" if vendor() == "postgresql" else "%s"


def sql_json_object() -> str:
    return "jsonb_build_object" if vendor() == "postgresql" else "json_object"


def sql_greatest() -> str:
    return "GREATEST" if vendor() == "postgresql" else "MAX"


