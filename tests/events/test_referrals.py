"""Referrals: codes, registration with a code, refusals (self, circular, twice), rewards once on the first purchase."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.events.models import Referral
from membercare.events.referrals import ALPHABET, normalize_code, referral_code_for, referral_record
from membercare.loyalty.models import PointsEntry
from membercare.loyalty.points import ledger_sum, points_balance
from membercare.members.services import member_create
from tests.factories import MemberFactory

from .conftest import at


def _error(exc) -> str:
    return exc.value.message_dict["referral_code"][0]


def test_codes_are_short_unambiguous_unique_and_stable(chain):
    members = [MemberFactory(home_store=chain.shop) for _ in range(30)]
    codes = [referral_code_for(m) for m in members]
    assert len(set(codes)) == 30
    assert all(len(c) == 6 and set(c) <= set(ALPHABET) for c in codes)
    assert not set("0O1IL") & set("".join(codes))
    assert referral_code_for(members[0]) == codes[0]  # made once
    assert normalize_code(" ab-c d2 ") == "ABCD2"


def test_registration_with_a_code_and_rewards_once_on_the_first_purchase(chain, member):
    code = referral_code_for(member)
    friend = member_create(data={"name": "李娜", "phone": "13900002222", "gender": "F", "birthday": "1990-05-01",
                                 "preferred_channel": "sms", "preferred_time": "any"},
                           store=chain.shop, by=chain.clerk, referral_code=code.lower())
    referral = Referral.objects.get(referred=friend)
    assert referral.referrer == member and referral.rewarded_at is None
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=friend.phone, lines=[LineIn("BELT", 1)],
                  sold_at=at(2026, 6, 1))
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=friend.phone, lines=[LineIn("BELT", 1)],
                  sold_at=at(2026, 6, 2))
    referral.refresh_from_db()
    assert referral.rewarded_at is not None and referral.first_receipt.sold_at == at(2026, 6, 1)
    assert (referral.referrer_points, referral.referred_points) == (200, 100)  # the programme's default rule
    assert points_balance(member) == 200 == ledger_sum(member)
    assert points_balance(friend) == 999 * 2 + 100 == ledger_sum(friend)
    assert PointsEntry.objects.filter(member=member).count() == 1


def test_a_bad_code_at_registration_saves_nothing(chain):
    from membercare.members.models import Member

    with translation.override("en"), pytest.raises(ValidationError) as exc:
        member_create(data={"name": "张伟", "phone": "13900003333", "gender": "M", "birthday": "1990-05-01",
                            "preferred_channel": "sms", "preferred_time": "any"},
                      store=chain.shop, by=chain.clerk, referral_code="ZZZZZZ")
    assert "No member has the referral code" in _error(exc)
    assert not Member.objects.filter(phone="13900003333").exists()


def test_self_and_circular_referrals_are_refused(chain):
    a, b, c, d = (MemberFactory(home_store=chain.shop) for _ in range(4))
    with translation.override("en"):
        with pytest.raises(ValidationError) as exc:
            referral_record(referred=a, code=referral_code_for(a))
        assert "own referral code" in _error(exc)
        referral_record(referred=b, code=referral_code_for(a))  # A brought B
        with pytest.raises(ValidationError) as exc:
            referral_record(referred=a, code=referral_code_for(b))  # B brings A back: a circle
        assert "Circular referral" in _error(exc)
        referral_record(referred=c, code=referral_code_for(b))  # B brought C
        with pytest.raises(ValidationError) as exc:
            referral_record(referred=a, code=referral_code_for(c))  # C -> A would close A -> B -> C -> A
        assert "Circular referral" in _error(exc)
        with pytest.raises(ValidationError) as exc:
            referral_record(referred=b, code=referral_code_for(d))  # B already has a referrer
        assert "already referred" in _error(exc)
    assert Referral.objects.count() == 2


def test_a_member_who_already_bought_cannot_be_referred(chain, member):
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("BELT", 1)],
                  sold_at=at(2026, 6, 1))
    other = MemberFactory(home_store=chain.shop)
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        referral_record(referred=member, code=referral_code_for(other))
    assert "already bought" in _error(exc)


def test_the_reward_costs_one_query_for_a_buyer_without_a_referral(chain, member, django_assert_num_queries):
    from types import SimpleNamespace

    from membercare.events.referrals import reward_on_first_purchase

    receipt = SimpleNamespace(member_id=member.pk, pk=1, sold_at=at(2026, 6, 1), number="X")
    with django_assert_num_queries(1):
        reward_on_first_purchase(None, receipt=receipt, store=chain.shop)
    with django_assert_num_queries(0):  # a member who bought before has no referral waiting
        reward_on_first_purchase(None, receipt=receipt, store=chain.shop, bought_before=True)


def test_a_repeat_buyer_sends_bought_before_and_the_first_purchase_does_not(chain, member):
    from membercare.sales.signals import sale_posted

    seen = []

    def listen(sender, receipt, store, bought_before, **kwargs):
        seen.append(bought_before)

    sale_posted.connect(listen, dispatch_uid="test_bought_before")
    try:
        for day in (1, 2):
            checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("BELT", 1)],
                          sold_at=at(2026, 6, day))
    finally:
        sale_posted.disconnect(dispatch_uid="test_bought_before")
    assert seen == [False, True]


def test_the_referral_rule_comes_from_the_programme(chain, member, specialist):
    from django.utils import timezone

    from membercare.loyalty.programme import DEFAULT_RULES
    from membercare.loyalty.programme_services import programme_update

    rules = {**DEFAULT_RULES, "referral": {"referrer_points": 500, "referred_points": 50}}
    programme_update(rules=rules, effective_from=timezone.localdate(), by=specialist)
    with pytest.raises(ValidationError):
        programme_update(rules={**DEFAULT_RULES, "referral": {"referrer_points": -1}},
                         effective_from=timezone.localdate(), by=specialist)
    friend = MemberFactory(home_store=chain.shop, phone="13900004444")
    referral_record(referred=friend, code=referral_code_for(member))
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=friend.phone, lines=[LineIn("BELT", 1)],
                  sold_at=timezone.now() + dt.timedelta(minutes=1))
    assert points_balance(member) == 500 and points_balance(friend) == 999 + 50


def test_profile_panel_and_registration_form(chain, member, client):
    client.force_login(chain.clerk)
    r = client.post(f"/members/{member.pk}/referral-code/")
    code = referral_code_for(member)
    r = client.get(f"/members/{member.pk}/")
    assert r.status_code == 200 and code in r.content.decode()
    r = client.post("/members/new/", {"name": "赵敏", "phone": "13900006666", "gender": "F", "birthday": "1992-02-02",
                                      "preferred_channel": "sms", "preferred_time": "any", "referral_code": "XXXXXX"})
    assert r.status_code == 200 and 'name="referral_code"' in r.content.decode()  # refused, form shown again
    r = client.post("/members/new/", {"name": "赵敏", "phone": "13900006666", "gender": "F", "birthday": "1992-02-02",
                                      "preferred_channel": "sms", "preferred_time": "any", "referral_code": code})
    assert r.status_code == 302
    friend = Referral.objects.get(referrer=member).referred
    r = client.get(f"/members/{member.pk}/")
    assert friend.name in r.content.decode()
