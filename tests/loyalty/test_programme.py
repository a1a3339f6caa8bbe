"""The programme as versioned data: updates, refusals naming the field, versions by date, diffs."""

import copy
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.loyalty.models import Card, ProgrammeVersion
from membercare.loyalty.programme import DEFAULT_RULES, programme_at
from membercare.loyalty.programme_selectors import programme_changes, programme_history
from membercare.loyalty.programme_services import programme_ensure_default, programme_update

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.datetime(2026, 6, 1, 10, tzinfo=TZ)


def rules_with(**tier_changes):
    """DOMAIN.md's rules with changes to one tier: elite__discount="0.30"."""
    rules = copy.deepcopy(DEFAULT_RULES)
    for key, value in tier_changes.items():
        code, field = key.split("__")
        next(t for t in rules["tiers"] if t["code"] == code)[field] = value
    return rules


@pytest.fixture
def today():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY.date()


def test_update_stores_a_complete_new_version(db, specialist, today):
    version = programme_update(rules={"window_days": 180}, effective_from=today, by=specialist, note="shorter")
    assert ProgrammeVersion.objects.count() == 1
    assert version.rules["window_days"] == 180 and version.rules["tiers"] == DEFAULT_RULES["tiers"]
    assert version.created_by == specialist and version.note == "shorter"
    assert programme_at(today).window_days == 180


def test_a_past_date_is_refused_and_nothing_is_stored(db, specialist, today):
    with pytest.raises(ValidationError) as exc:
        programme_update(rules={}, effective_from=today - dt.timedelta(days=1), by=specialist)
    assert "effective_from" in exc.value.message_dict
    assert not ProgrammeVersion.objects.exists()


@pytest.mark.parametrize(("rules", "field"), [
    (rules_with(elite__discount="1"), "tiers[0].discount"),
    (rules_with(diamond__discount="1.5"), "tiers[1].discount"),
    (rules_with(elite__discount="-0.1"), "tiers[0].discount"),
    (rules_with(knight__single_receipt="-1"), "tiers[2].single_receipt"),
    (rules_with(elite__rolling_paid="-8000"), "tiers[0].rolling_paid"),
    (rules_with(elite__single_receipt_by_series={"business": "-5"}), "tiers[0].single_receipt_by_series"),
    (rules_with(elite__code="Platinum"), "tiers[0].code"),  # any code now, but lowercase letters/digits/_
    (rules_with(elite__code="accumulation"), "tiers[0].code"),
    (rules_with(elite__code="platinum"), "tiers[0].name"),  # a new code needs its name
    (rules_with(elite__code="diamond"), "tiers[1].code"),  # twice
    (rules_with(elite__birthday={"items": 2, "discount": "1", "brands": ["MAIN"]}), "tiers[0].birthday"),
    (rules_with(elite__birthday={"items": -1, "discount": "0.4", "brands": ["MAIN"]}), "tiers[0].birthday.items"),
    ({"window_days": 0}, "window_days"),
    ({"points_per_yuan": 1.5}, "points_per_yuan"),
    ({"max_redeem_share": "1.2"}, "max_redeem_share"),
    ({"point_value": "abc"}, "point_value"),
    ({"points_expiry": "someday"}, "points_expiry"),
    ({"window_dayz": 10}, "window_dayz"),
])
def test_bad_values_are_refused_naming_the_field(db, specialist, today, rules, field):
    with pytest.raises(ValidationError) as exc:
        programme_update(rules=rules, effective_from=today, by=specialist)
    assert field in exc.value.message_dict
    assert not ProgrammeVersion.objects.exists()


def test_programme_at_picks_the_version_by_date(db, specialist, today):
    programme_ensure_default()
    programme_update(rules=rules_with(elite__discount="0.25"), effective_from=dt.date(2026, 7, 1), by=specialist)
    programme_update(rules=rules_with(elite__discount="0.30"), effective_from=dt.date(2026, 9, 1), by=specialist)
    assert programme_at().tier("elite").discount == Decimal("0.15")
    assert programme_at(dt.date(2026, 6, 30)).tier("elite").discount == Decimal("0.15")
    assert programme_at(dt.date(2026, 7, 1)).tier("elite").discount == Decimal("0.25")
    assert programme_at(dt.date(2026, 9, 1)).tier("elite").discount == Decimal("0.30")
    with time_machine.travel(dt.datetime(2026, 8, 15, 9, tzinfo=TZ), tick=False):
        assert programme_at().tier("elite").discount == Decimal("0.25")


def test_ensure_default_stores_domain_programme_once(db):
    first = programme_ensure_default()
    assert first.effective_from == dt.date(2000, 1, 1) and first.rules == DEFAULT_RULES
    assert programme_ensure_default() == first and ProgrammeVersion.objects.count() == 1
    assert programme_changes(first) == []


def test_a_change_applies_to_checkouts_from_its_date_and_not_before(chain, member, specialist, today):
    programme_ensure_default()
    programme_update(rules=rules_with(elite__discount="0.30"), effective_from=dt.date(2026, 6, 10), by=specialist)
    sell = dict(store=chain.shop, clerk=chain.clerk)
    checkout_post(**sell, phone=member.phone, lines=[LineIn("SUIT", 1)], sold_at=dt.datetime(2026, 6, 1, 11, tzinfo=TZ))
    card = Card.objects.get(member=member)
    assert card.kind == "elite"
    before = checkout_post(**sell, card_number=card.number, lines=[LineIn("SHIRT", 1)],
                           sold_at=dt.datetime(2026, 6, 9, 20, tzinfo=TZ))
    after = checkout_post(**sell, card_number=card.number, lines=[LineIn("SHIRT", 1)],
                          sold_at=dt.datetime(2026, 6, 10, 9, tzinfo=TZ))
    assert before.total_paid == Decimal("850.00")
    assert after.total_paid == Decimal("700.00")


def test_diff_lists_old_and_new(db, specialist, today):
    programme_ensure_default()
    rules = rules_with(elite__discount="0.20", knight__birthday={"items": 3, "discount": "0.40", "brands": ["JUEDU"]})
    rules["window_days"] = 180
    rules["tiers"][0]["single_receipt_by_series"] = {"business": "6000", "leather": "3000"}  # golf dropped
    version = programme_update(rules=rules, effective_from=today, by=specialist)
    changes = programme_changes(version)
    assert ("window_days", 365, 180) in changes
    assert ("tiers.elite.discount", "0.15", "0.20") in changes
    assert ("tiers.elite.single_receipt_by_series.business", "5000", "6000") in changes
    assert ("tiers.elite.single_receipt_by_series.golf", "3000", None) in changes
    assert ("tiers.knight.birthday.items", 2, 3) in changes
    assert len(changes) == 5
    history = programme_history()
    assert [h.version for h in history] == [version, ProgrammeVersion.objects.get(effective_from="2000-01-01")]
    assert history[0].changes == changes and history[0].status == "in_force"
