"""Gifts: stock per store never below zero, the movements ledger, gifts for points through the loyalty ledger,
permissions, low stock."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from membercare.loyalty.models import PointsEntry
from membercare.loyalty.points import lock_account, points_balance, points_earn
from membercare.service.errors import ServiceError
from membercare.service.gifts import gift_issue, gift_save, stock_adjust, stock_receive, stock_threshold_set
from membercare.service.models import GiftIssue, GiftStock, StockMovement
from membercare.service.selectors import low_stock_count, stock_rows

pytestmark = pytest.mark.django_db


def test_receive_and_issue_keep_the_ledger(manager, clerk, member, gift, store):
    stock = stock_receive(gift=gift, store=store, quantity=2, by=manager, reason="总部配送")
    assert stock.quantity == 2
    issue = gift_issue(member=member, gift=gift, store=store, reason="birthday", by=clerk)
    assert issue.clerk == clerk and issue.store == store and issue.member == member
    assert GiftStock.objects.get(pk=stock.pk).quantity == 1
    kinds = list(StockMovement.objects.order_by("pk").values_list("kind", "quantity", "balance"))
    assert kinds == [("receive", 2, 2), ("issue", -1, 1)]


def test_issue_beyond_stock_is_refused_with_a_clear_message(clerk, member, gift, stocked, store):
    for _ in range(3):
        gift_issue(member=member, gift=gift, store=store, reason="holiday", by=clerk)
    with pytest.raises(ServiceError) as err, translation.override("en"):
        gift_issue(member=member, gift=gift, store=store, reason="holiday", by=clerk)
    assert err.value.error_code == "out_of_stock" and err.value.field == "gift"
    assert "out of stock" in err.value.text
    stocked.refresh_from_db()
    assert stocked.quantity == 0 and GiftIssue.objects.count() == 3


def test_issue_where_the_store_never_had_it_is_refused(clerk, member, gift, store):
    with pytest.raises(ServiceError) as err:
        gift_issue(member=member, gift=gift, store=store, reason="birthday", by=clerk)
    assert err.value.error_code == "out_of_stock"
    assert not GiftIssue.objects.exists()


def test_adjust_needs_a_reason_and_never_goes_below_zero(manager, gift, stocked, store):
    with pytest.raises(ServiceError) as err:
        stock_adjust(gift=gift, store=store, change=-1, reason="", by=manager)
    assert err.value.field == "reason"
    with pytest.raises(ServiceError) as err:
        stock_adjust(gift=gift, store=store, change=-4, reason="盘点", by=manager)
    assert err.value.error_code == "below_zero"
    stock = stock_adjust(gift=gift, store=store, change=-3, reason="盘点少了", by=manager)
    assert stock.quantity == 0
    assert StockMovement.objects.get().reason == "盘点少了"


def test_clerk_cannot_receive_or_adjust_and_other_store_cannot_issue(clerk, other_clerk, member, gift, stocked,
                                                                     store):
    with pytest.raises(PermissionDenied):
        stock_receive(gift=gift, store=store, quantity=1, by=clerk)
    with pytest.raises(ServiceError) as err:
        gift_issue(member=member, gift=gift, store=store, reason="birthday", by=other_clerk)
    assert err.value.error_code == "not_yours"


def test_gift_for_points_takes_points_through_the_ledger(clerk, member, gift, stocked, store):
    points_earn(lock_account(member), 800, expires_on=None, reason="test")
    issue = gift_issue(member=member, gift=gift, store=store, reason="points", by=clerk)
    assert issue.points == 500 and issue.points_entry.points == -500
    assert issue.points_entry.kind == PointsEntry.Kind.REDEEM
    assert points_balance(member) == 300


def test_gift_for_points_refused_when_short_and_nothing_written(clerk, member, gift, stocked, store):
    points_earn(lock_account(member), 100, expires_on=None, reason="test")
    with pytest.raises(ServiceError) as err:
        gift_issue(member=member, gift=gift, store=store, reason="points", by=clerk)
    assert err.value.error_code == "points_short"
    stocked.refresh_from_db()
    assert stocked.quantity == 3 and points_balance(member) == 100 and not GiftIssue.objects.exists()


def test_compensation_only_from_a_complaint(clerk, member, gift, stocked, store):
    with pytest.raises(ServiceError) as err:
        gift_issue(member=member, gift=gift, store=store, reason="compensation", by=clerk)
    assert err.value.error_code == "complaint_required"


def test_low_stock(manager, gift, stocked, store):
    assert low_stock_count([store.pk]) == 0
    stock_adjust(gift=gift, store=store, change=-1, reason="坏了", by=manager)
    assert low_stock_count([store.pk]) == 1
    stock_threshold_set(gift=gift, store=store, threshold=0, by=manager)
    assert low_stock_count([store.pk]) == 0
    assert [r.is_low for r in stock_rows(store)] == [False]


def test_catalogue_is_hq_only(specialist, manager):
    with pytest.raises(PermissionDenied):
        gift_save(by=manager, code="MUG", name="杯子")
    gift = gift_save(by=specialist, code="mug", name="杯子", value="39.9", points_cost=200)
    assert gift.code == "MUG" and str(gift.value) == "39.90"
    with pytest.raises(ServiceError) as err:
        gift_save(by=specialist, code="MUG", name="另一个")
    assert err.value.error_code == "code_taken"
