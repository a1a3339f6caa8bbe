"""The care rule 'high value, probability active below X' (prediction.care_rule): boundary, cool-down, off by
default; only members of high value at brands whose model passed the hold-out check."""

import datetime as dt

from django.utils import timezone

from membercare.care.config import DEFAULTS, merge
from membercare.care.models import Task
from membercare.care.rules import RULES
from membercare.prediction.care_rule import slipping_call
from membercare.prediction.models import MemberPrediction, PredictionFit

DAY = dt.date(2026, 6, 30)


def _fit(brand, quality="good"):
    return PredictionFit.objects.create(brand=brand, as_of=DAY, params={"value_cutoff": 500.0}, converged=True,
                                        quality=quality, model="mbgnbd")


def _predict(member, brand, p_alive, value="900.00"):
    if not PredictionFit.objects.filter(brand=brand).exists():
        _fit(brand)
    MemberPrediction.objects.create(member=member, brand=brand, p_alive=p_alive, expected_purchases_12m=0.5,
                                    expected_spend="100.00", clv="50.00", value_active=value, frequency=2,
                                    recency_days=10, age_days=300, computed_at=timezone.now())


def _config(**rule):
    return merge(DEFAULTS, {"rules": {"slipping_call": {"enabled": True, **rule}}})


def test_registered_and_off_by_default():
    assert RULES["slipping_call"] is slipping_call
    assert DEFAULTS["rules"]["slipping_call"]["enabled"] is False
    assert DEFAULTS["rules"]["slipping_call"]["threshold"] == 0.3


def test_just_below_the_threshold_gets_a_call_at_it_does_not(brands, member_factory):
    main, sub = brands
    below, at, above, mixed = (member_factory() for _ in range(4))
    _predict(below, main, 0.2999)
    _predict(at, main, 0.3)
    _predict(above, main, 0.9)
    _predict(mixed, main, 0.8)
    _predict(mixed, sub, 0.1)  # slipping at one brand: one task, with the lowest figure
    assert slipping_call(DAY, _config()) == 2
    tasks = {t.member_id: t for t in Task.objects.filter(rule="slipping_call")}
    assert set(tasks) == {below.pk, mixed.pk}
    assert tasks[mixed.pk].key == "2026-06" and tasks[mixed.pk].due_on == DAY + dt.timedelta(days=7)
    assert tasks[mixed.pk].context["p_alive"] == 0.1
    assert slipping_call(DAY, _config(threshold=0.31)) == 1  # 'at' now below; the others already have theirs
    assert Task.objects.filter(rule="slipping_call", member=at).exists()


def test_cool_down_keeps_a_second_task_away(brands, member_factory):
    m = member_factory()
    _predict(m, brands[0], 0.1)
    assert slipping_call(DAY, _config(cooldown_days=90)) == 1
    next_month = DAY + dt.timedelta(days=31)
    assert slipping_call(next_month, _config(cooldown_days=90)) == 0  # within 90 days of the last task
    assert slipping_call(DAY + dt.timedelta(days=91), _config(cooldown_days=90)) == 1


def test_only_high_value_members_at_brands_whose_check_is_good(brands, member_factory):
    main, sub = brands
    valuable, ordinary, at_poor_brand = (member_factory() for _ in range(3))
    _predict(valuable, main, 0.1, value="500.00")  # at the brand's cut-off: high value
    _predict(ordinary, main, 0.1, value="499.99")
    _fit(sub, quality="poor")
    _predict(at_poor_brand, sub, 0.05, value="5000.00")
    assert slipping_call(DAY, _config()) == 1
    assert list(Task.objects.filter(rule="slipping_call").values_list("member_id", flat=True)) == [valuable.pk]
    _fit(sub, quality="good")  # the sub-brand's next fit passes the check: its member is called too
    assert slipping_call(DAY, _config()) == 1
    assert Task.objects.filter(rule="slipping_call", member=at_poor_brand).exists()
