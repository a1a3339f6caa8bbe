"""A birthday privilege refused outside the birthday month says when it would be given (issue 18, item 5): the
dates of the birthday month and, for a member who keeps a lunar birthday, that birthday and its solar date."""

import datetime as dt

import pytest
import time_machine
from django.utils import translation

from membercare.checkout.pipeline import CheckoutError
from membercare.loyalty.birthday import lunar_date_label, lunar_day_name, next_birthday_month
from membercare.loyalty.models import BirthdayUse, Card

from .test_checkout import at, buy


@pytest.fixture
def elite(chain, member):
    buy(chain, lines=[("SUIT", 1)], when=at(2026, 2, 1))  # ¥5,000 of business wear: elite card
    return Card.objects.get(member=member)


def refusal(chain, card, when) -> str:
    with time_machine.travel(when, tick=False), pytest.raises(CheckoutError) as exc:
        buy(chain, card=card.number, lines=[("SHIRT", 1)], when=when, birthday=True)
    assert exc.value.error_code == "birthday_not_month"
    return exc.value.text


def test_a_lunar_birthday_refusal_names_the_lunar_birthday_and_the_dates_that_work(chain, member, elite):
    # 农历三月初十 is 2026-04-26: the privilege is given in April 2026
    member.lunar_birthday_month, member.lunar_birthday_day, member.celebrates_lunar = 3, 10, True
    member.save()
    text = refusal(chain, elite, at(2026, 3, 21))  # the solar birthday: not the day this member keeps
    assert text == ("现在不是会员的生日月。会员按农历过生日（农历三月初十），农历生日在2026年4月26日："
                    "生日特权可在2026年4月1日至2026年4月30日使用，其他时间须经 VIP 专员批准例外。")
    # what the refusal names does work
    receipt = buy(chain, card=elite.number, lines=[("SHIRT", 1)], when=at(2026, 4, 30), birthday=True)
    assert BirthdayUse.objects.get(receipt=receipt).period == "2026-04"
    with translation.override("en"):
        text = refusal(chain, elite, at(2026, 5, 1))
    assert text == ("It is not the member's birthday month. The member celebrates the lunar birthday (lunar month "
                    "3, day 10), which falls on April 16, 2027: the birthday privilege can be given from April 1, "
                    "2027 to April 30, 2027, at other times only with an exception the VIP specialist approved.")


def test_a_solar_birthday_refusal_names_the_next_birthday_month(chain, member, elite):
    assert member.birthday.month == 3
    refused = "现在不是会员的生日月：生日特权可在%s年3月1日至%s年3月31日使用，其他时间须经 VIP 专员批准例外。"
    assert refusal(chain, elite, at(2026, 6, 1)) == refused % (2027, 2027)
    assert refusal(chain, elite, at(2026, 2, 27)) == refused % (2026, 2026)


def test_a_late_lunar_birthday_falls_in_the_next_solar_year():
    from types import SimpleNamespace

    # 农历腊月二十 of lunar year 2026 is 2027-01-27; of lunar year 2025, 2026-02-07
    member = SimpleNamespace(celebrates_lunar=True, lunar_birthday_month=12, lunar_birthday_day=20,
                             lunar_birthday_leap=False, birthday=dt.date(1980, 1, 1))
    month = next_birthday_month(member, dt.date(2026, 3, 1))
    assert (month.first, month.last, month.lunar_birthday) == (dt.date(2027, 1, 1), dt.date(2027, 1, 31),
                                                                dt.date(2027, 1, 27))
    assert next_birthday_month(member, dt.date(2026, 2, 28)).lunar_birthday == dt.date(2026, 2, 7)


def test_lunar_dates_read_as_people_say_them():
    assert [lunar_day_name(d) for d in (1, 10, 11, 20, 21, 29, 30)] == ["初一", "初十", "十一", "二十", "廿一",
                                                                        "廿九", "三十"]
    with translation.override("zh-hans"):
        assert lunar_date_label(1, 15) == "农历正月十五" and lunar_date_label(4, 23, leap=True) == "农历闰四月廿三"
        assert lunar_date_label(12, 8) == "农历腊月初八" and lunar_date_label(11, 1) == "农历冬月初一"
