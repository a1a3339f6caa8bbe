"""Issuing coupons: codes, audiences (segment or pasted list), the hold-out group, the message, expiry."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from membercare.campaigns.codes import ALPHABET, LENGTH, display_code, is_well_formed, new_code, normalize_code
from membercare.campaigns.models import Coupon, CouponBatch, CouponHoldout, CouponIssue
from membercare.campaigns.services import (
    batch_create,
    coupon_issue,
    coupons_expire,
    draw_holdout,
    issue_preview,
    members_from_list,
)
from membercare.care.models import MemberSegments
from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.messaging.bulk import bulk_enqueue
from membercare.messaging.models import Message, MessageStatus
from membercare.messaging.services import template_save
from tests.factories import MemberFactory

from .conftest import TZ, at

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------------------------ codes


def test_codes_are_well_formed_and_distinct():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == LENGTH and is_well_formed(c) and set(c) <= set(ALPHABET) for c in codes)
    assert not set("01OIL") & set(ALPHABET)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, LENGTH - 1), st.integers(1, len(ALPHABET) - 1))
def test_the_check_character_catches_every_single_wrong_character(seed, pos, shift):
    import random

    code = "".join(random.Random(seed).choice(ALPHABET) for _ in range(LENGTH - 1))
    from membercare.campaigns.codes import check_char

    code += check_char(code)
    assert is_well_formed(code)
    wrong = code[:pos] + ALPHABET[(ALPHABET.index(code[pos]) + shift) % len(ALPHABET)] + code[pos + 1:]
    assert not is_well_formed(wrong)


def test_the_check_character_catches_every_swap_of_two_different_characters():
    code = new_code()
    for i, j in itertools.combinations(range(LENGTH), 2):
        if code[i] != code[j]:
            swapped = list(code)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            assert not is_well_formed("".join(swapped)), (i, j)


def test_codes_are_typed_in_any_case_with_dashes():
    code = new_code()
    assert normalize_code(display_code(code).lower()) == code and len(display_code(code)) == 14


# ------------------------------------------------------------------------------------------------ batch


def test_a_batch_with_bad_values_is_refused_field_by_field(chain):
    with pytest.raises(ValidationError) as info:
        batch_create(by=None, name=" ", brand=chain.main, kind="percent", value="120", valid_from=dt.date(2026, 6, 30),
                     valid_to=dt.date(2026, 6, 1), min_spend="-1", skus=["NOPE", "shirt"])
    assert set(info.value.error_dict) == {"name", "value", "valid_to", "min_spend", "skus"}
    assert not CouponBatch.objects.exists()


# ------------------------------------------------------------------------------------------------ issue


def _segment_members(chain, n):
    members = [MemberFactory(home_store=chain.shop) for _ in range(n)]
    for i, m in enumerate(members):
        MemberSegments.objects.create(member=m, computed_on=dt.date(2026, 6, 1),
                                      lifecycle="active" if i % 2 == 0 else "dormant", spend_class="A")
    return members


def test_issue_to_a_segment_with_a_reproducible_holdout(chain, make_batch):
    members = _segment_members(chain, 40)
    active = [m.pk for i, m in enumerate(members) if i % 2 == 0]
    batch = make_batch()
    audience = {"lifecycle": ["active"]}
    assert issue_preview(batch=batch, audience=audience, holdout_share=Decimal("0.25")) == {
        "total": 20, "already": 0, "holdout": 5, "issue": 15}
    issue = coupon_issue(batch=batch, audience=audience, holdout_share=Decimal("0.25"), by=None, at=at(2026, 6, 1),
                         seed="fixed")
    assert (issue.issued, issue.held_out, issue.skipped) == (15, 5, 0)
    held = set(CouponHoldout.objects.filter(issue=issue).values_list("member_id", flat=True))
    given_to = set(Coupon.objects.filter(issue=issue).values_list("member_id", flat=True))
    assert held | given_to == set(active) and not held & given_to
    assert held == draw_holdout(active, Decimal("0.25"), "fixed")  # the recorded seed reproduces the group
    assert draw_holdout(active, Decimal("0.25"), "other") != held  # a different seed, a different draw
    # issuing again reaches nobody twice
    with pytest.raises(ValidationError) as info:
        coupon_issue(batch=batch, audience=audience, holdout_share=0, by=None, at=at(2026, 6, 2))
    assert "audience" in info.value.error_dict
    again = coupon_issue(batch=batch, audience={"spend_class": ["A"]}, holdout_share=0, by=None, at=at(2026, 6, 2))
    assert (again.issued, again.held_out, again.skipped) == (20, 0, 20)
    assert Coupon.objects.filter(batch=batch).count() == 35


def test_issue_to_a_pasted_list_of_phones_and_cards(chain, member):
    other = MemberFactory(phone="13900001111", home_store=chain.shop)
    receipt = checkout_post(store=chain.shop, clerk=None, phone=other.phone, lines=[LineIn("SHIRT", 1)],
                            sold_at=at(2026, 5, 1))
    ids, unknown = members_from_list(f"{member.phone}\n{receipt.card_number}, 13900002222 ,NOPE\n{member.phone}")
    assert ids == [member.pk, other.pk] and unknown == ["13900002222", "NOPE"]


def test_bad_hold_out_share_and_ended_batch_are_refused(chain, member, make_batch):
    batch = make_batch()
    with pytest.raises(ValidationError) as info:
        coupon_issue(batch=batch, audience={"member_ids": [member.pk]}, holdout_share="0.9", by=None,
                     at=at(2026, 6, 1))
    assert "holdout_share" in info.value.error_dict
    with pytest.raises(ValidationError) as info:
        coupon_issue(batch=batch, audience={"member_ids": [member.pk]}, holdout_share=0, by=None, at=at(2026, 7, 1))
    assert "__all__" in info.value.error_dict
    assert not CouponIssue.objects.exists() and not Coupon.objects.exists()


def test_the_message_carries_each_members_code(chain, member, make_batch, settings):
    template = template_save(by=None, name="券", category="promotion",
                             body="{title}，您的专属券 {coupon_code}，{coupon_until} 前有效。")
    others = [MemberFactory(home_store=chain.shop, consent_sms=True) for _ in range(3)]
    member.consent_sms = True
    member.save()
    batch = make_batch(template=template)
    issue = coupon_issue(batch=batch, audience={"member_ids": [member.pk] + [m.pk for m in others]},
                         holdout_share=0, by=None, send_message=True, at=at(2026, 6, 1, 10))
    assert issue.bulk is not None and issue.bulk.audience == {"coupon_issue": issue.pk}
    bulk_enqueue(issue.bulk)
    messages = {m.member_id: m for m in Message.objects.filter(bulk=issue.bulk)}
    assert len(messages) == 4
    for coupon in Coupon.objects.filter(issue=issue):
        message = messages[coupon.member_id]
        assert message.status == MessageStatus.QUEUED, message.skip_reason
        assert display_code(coupon.code) in message.body and "2026-06-30" in message.body
        assert message.params["coupon_code"] == display_code(coupon.code)


def test_a_message_needs_a_template(chain, member, make_batch):
    with pytest.raises(ValidationError) as info:
        coupon_issue(batch=make_batch(), audience={"member_ids": [member.pk]}, holdout_share=0, by=None,
                     send_message=True, at=at(2026, 6, 1))
    assert "template" in info.value.error_dict and not Coupon.objects.exists()


# ------------------------------------------------------------------------------------------------ expiry


def test_expiry_marks_unused_coupons_of_ended_batches_once(chain, member, make_batch, give):
    ended, running = make_batch(name="六月"), make_batch(name="长期", valid_to=dt.date(2026, 12, 31))
    c_ended, c_running = give(ended), give(running)
    used = give(make_batch(name="已用"), to=MemberFactory(home_store=chain.shop))
    Coupon.objects.filter(pk=used.pk).update(redeemed_at=dt.datetime(2026, 6, 5, tzinfo=TZ))
    assert coupons_expire(dt.date(2026, 6, 30)) == 0  # the last day still counts
    call_command("coupons_expire", "--date", "2026-07-01")
    assert coupons_expire(dt.date(2026, 7, 2)) == 0  # idempotent
    c_ended.refresh_from_db(), c_running.refresh_from_db(), used.refresh_from_db()
    assert c_ended.expired_on == dt.date(2026, 7, 1)
    assert c_running.expired_on is None and used.expired_on is None
