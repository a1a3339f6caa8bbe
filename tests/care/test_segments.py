"""Segment definitions on their boundary days, returns, and the history spans (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from membercare.care.config import DEFAULTS, merge
from membercare.care.models import MemberSegments, SegmentSpan
from membercare.care.segment_selectors import (
    member_segment_history,
    segment_counts,
    segment_migration,
    segments_on,
)
from membercare.care.segments import segments_compute
from membercare.sales.models import Receipt
from tests.factories import MemberFactory, StoreFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 6, 30)
CONFIG = merge(DEFAULTS, {})
_numbers = iter(range(1, 10**6))


@pytest.fixture
def shop(db):
    return StoreFactory()


def buy(member, day: dt.date, amount: str = "1000.00", *, hour: int = 12) -> Receipt:
    return Receipt.objects.create(number=f"B{next(_numbers):07d}", store=member.home_store, member=member,
                                  sold_at=dt.datetime.combine(day, dt.time(hour), tzinfo=TZ),
                                  total_full_price=Decimal(amount), total_paid=Decimal(amount))


def give_back(sale: Receipt, amount: str, day: dt.date) -> Receipt:
    return Receipt.objects.create(number=f"B{next(_numbers):07d}", store=sale.store, member=sale.member,
                                  sold_at=dt.datetime.combine(day, dt.time(15), tzinfo=TZ), total_full_price=0,
                                  total_paid=-Decimal(amount), original=sale)


def seg(member, day: dt.date = DAY) -> MemberSegments:
    segments_compute(day, CONFIG)
    return MemberSegments.objects.get(member=member)


@pytest.mark.parametrize(("days_ago", "lifecycle"), [
    (0, "new"), (29, "new"), (30, "active"), (89, "active"), (90, "dormant"), (179, "dormant"),
    (180, "sleeping"), (364, "sleeping"), (365, "lost"), (800, "lost"),
])
def test_lifecycle_boundary_days(shop, days_ago, lifecycle):
    member = MemberFactory(home_store=shop)
    buy(member, DAY - dt.timedelta(days=800))  # an old first purchase: never "new" unless it is the only one
    if days_ago < 800:
        buy(member, DAY - dt.timedelta(days=days_ago))
    if lifecycle == "new":  # new needs the first purchase within 30 days
        Receipt.objects.filter(member=member, sold_at__date__lt=DAY - dt.timedelta(days=40)).delete()
    row = seg(member)
    assert row.lifecycle == lifecycle
    assert row.sleeping is (days_ago >= 180)


def test_new_member_first_purchase_29_and_30_days_ago(shop):
    fresh, older = MemberFactory(home_store=shop), MemberFactory(home_store=shop)
    buy(fresh, DAY - dt.timedelta(days=29))
    buy(older, DAY - dt.timedelta(days=30))
    segments_compute(DAY, CONFIG)
    assert MemberSegments.objects.get(member=fresh).lifecycle == "new"
    assert MemberSegments.objects.get(member=older).lifecycle == "active"


def test_prospect_and_local_day_of_a_late_evening_sale(shop):
    prospect, late = MemberFactory(home_store=shop), MemberFactory(home_store=shop)
    buy(late, DAY, hour=23)  # 23:00 in Shanghai is 15:00 UTC: still DAY locally
    segments_compute(DAY, CONFIG)
    row = MemberSegments.objects.get(member=prospect)
    assert (row.lifecycle, row.spend_class, row.follow_up, row.pyramid) == ("prospect", "", "D", "target")
    assert MemberSegments.objects.get(member=late).last_purchase_on == DAY


def test_returns_reduce_spend_and_a_full_return_undoes_the_purchase_day(shop):
    member = MemberFactory(home_store=shop)
    sale = buy(member, DAY - dt.timedelta(days=10), "1000.00")
    give_back(sale, "400.00", DAY - dt.timedelta(days=8))
    whole = buy(member, DAY - dt.timedelta(days=5), "300.00")
    give_back(whole, "300.00", DAY - dt.timedelta(days=4))
    row = seg(member)
    assert row.spend_12m == Decimal("600.00")
    assert row.purchase_days_12m == 1  # the fully returned day is no purchase day
    assert row.receipts_6m == 1
    assert row.last_purchase_on == DAY - dt.timedelta(days=10)


def test_abc_shares_with_ties_broken_by_member_id(shop):
    members = [MemberFactory(home_store=shop) for _ in range(10)]
    for i, member in enumerate(members):
        buy(member, DAY - dt.timedelta(days=3), "500.00" if i < 4 else f"{100 + i}.00")
    segments_compute(DAY, CONFIG)
    classes = [MemberSegments.objects.get(member=m).spend_class for m in members]
    # four equal top spenders (500): A holds ceil(20% of 10) = 2 of them, the lower member ids; B the next
    # ceil(50% of 10) - 2 = 3: the other two at 500 and the best of the rest (member 9, 109.00)
    assert classes == ["A", "A", "B", "B", "C", "C", "C", "C", "C", "B"]
    # the follow-up class is seed 002's, not a copy of ABC: each bought once, at full price (buy()), and is
    # new (first purchase 3 days ago): to develop
    assert [MemberSegments.objects.get(member=m).follow_up for m in members] == ["D"] * 10


def test_high_loyalty_needs_a_median_gap_of_30_days_or_less(shop):
    loyal, spaced = MemberFactory(home_store=shop), MemberFactory(home_store=shop)
    for k in range(4):
        buy(loyal, DAY - dt.timedelta(days=30 * k), "5000.00")
        buy(spaced, DAY - dt.timedelta(days=31 * k), "5000.00")
    segments_compute(DAY, CONFIG)
    assert MemberSegments.objects.get(member=loyal).median_gap_days == 30
    assert MemberSegments.objects.get(member=loyal).high_loyalty is True
    assert MemberSegments.objects.get(member=spaced).median_gap_days == 31
    assert MemberSegments.objects.get(member=spaced).high_loyalty is False


def test_churning_when_recent_purchases_fall_below_half_the_usual_rate(shop):
    churning, steady = MemberFactory(home_store=shop), MemberFactory(home_store=shop)
    for k in range(6):  # six purchase days in the 275 baseline days: about two expected in 90 days
        buy(churning, DAY - dt.timedelta(days=100 + 40 * k))
        buy(steady, DAY - dt.timedelta(days=100 + 40 * k))
    buy(steady, DAY - dt.timedelta(days=10))  # one recent day: 1 x 275 >= 0.5 x 6 x 90 = 270
    segments_compute(DAY, CONFIG)
    assert MemberSegments.objects.get(member=churning).churning is True
    assert MemberSegments.objects.get(member=steady).churning is False


def test_history_unchanged_changed_and_same_day_recompute(shop):
    member = MemberFactory(home_store=shop)
    buy(member, DAY - dt.timedelta(days=88))
    assert segments_compute(DAY, CONFIG) == 1  # first computation: one span
    assert segments_compute(DAY + dt.timedelta(days=1), CONFIG) == 0  # 89 days: still active, nothing new
    spans = list(member_segment_history(member))
    assert [(s.valid_from, s.valid_to, s.lifecycle) for s in spans] == [(DAY, None, "active")]

    dormant_day = DAY + dt.timedelta(days=2)  # 90 days: dormant
    assert segments_compute(dormant_day, CONFIG) == 1
    spans = list(member_segment_history(member))
    assert [(s.valid_from, s.valid_to, s.lifecycle) for s in spans] == [
        (dormant_day, None, "dormant"), (DAY, dormant_day, "active")]

    # a purchase posted late on the same day: the recompute replaces today's span instead of adding one
    buy(member, dormant_day - dt.timedelta(days=1))
    segments_compute(dormant_day, CONFIG)
    spans = list(member_segment_history(member))
    assert [(s.valid_from, s.valid_to, s.lifecycle) for s in spans] == [(DAY, None, "active")]
    assert SegmentSpan.objects.filter(member=member).count() == 1
    assert MemberSegments.objects.get(member=member).last_purchase_on == dormant_day - dt.timedelta(days=1)

    # an earlier day than the last computation leaves the member alone (history only moves forward)
    assert segments_compute(DAY, CONFIG) == 0


def test_same_day_recompute_with_a_different_result_replaces_the_span(shop):
    member = MemberFactory(home_store=shop)
    sale = buy(member, DAY - dt.timedelta(days=95))
    segments_compute(DAY - dt.timedelta(days=10), CONFIG)  # 85 days: active
    segments_compute(DAY, CONFIG)  # 95 days: dormant
    give_back(sale, "1000.00", DAY)  # returned in full, posted the same day: no purchase left
    assert segments_compute(DAY, CONFIG) == 1
    spans = [(s.valid_from, s.valid_to, s.lifecycle) for s in member_segment_history(member)]
    assert spans == [(DAY, None, "prospect"), (DAY - dt.timedelta(days=10), DAY, "active")]


def test_segments_on_counts_and_migration_matrix(shop):
    other_store = StoreFactory()
    a, b, c = (MemberFactory(home_store=shop), MemberFactory(home_store=shop), MemberFactory(home_store=other_store))
    buy(a, DAY - dt.timedelta(days=85))
    buy(b, DAY - dt.timedelta(days=40))
    buy(b, DAY - dt.timedelta(days=10))
    first, later = DAY, DAY + dt.timedelta(days=30)
    segments_compute(first, CONFIG)
    segments_compute(later, CONFIG)
    assert {s.member_id: s.lifecycle for s in segments_on(first)} == {a.pk: "active", b.pk: "active",
                                                                      c.pk: "prospect"}
    assert {s.member_id: s.lifecycle for s in segments_on(later)} == {a.pk: "dormant", b.pk: "active",
                                                                      c.pk: "prospect"}
    assert segments_on(first - dt.timedelta(days=1)).count() == 0
    assert segment_migration("lifecycle", first, later) == {"active": {"dormant": 1, "active": 1},
                                                            "prospect": {"prospect": 1}}
    assert segment_migration("lifecycle", first, later, store_ids=[shop.pk]) == {
        "active": {"dormant": 1, "active": 1}}
    assert segment_migration("lifecycle", first - dt.timedelta(days=1), first) == {
        None: {"active": 2, "prospect": 1}}
    assert segment_migration("sleeping", first, later) == {False: {False: 3}}
    counts = segment_counts(later)
    assert counts["lifecycle"] == {"dormant": 1, "active": 1, "prospect": 1}
    assert segment_counts(later, store_ids=[other_store.pk])["follow_up"] == {"D": 1}
    assert segment_counts()["lifecycle"] == counts["lifecycle"]
    with pytest.raises(ValueError):
        segment_migration("member_id", first, later)


def test_no_write_reads_the_table_it_fills(shop):
    """A chain's first night (issue 20): an INSERT whose subquery reads the table being filled is rescanned
    per row when the planner trusts an empty table's statistics — quadratic in members (100k: 223 s). Every
    INSERT the segments step runs reads other tables only; the history comes out the same."""
    import re

    from django.db import connection

    members = [MemberFactory(home_store=shop) for _ in range(3)]
    buy(members[0], DAY - dt.timedelta(days=10))
    buy(members[1], DAY - dt.timedelta(days=200))
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(" ".join(str(sql).split()))
        return execute(sql, params, many, context)

    for day in (DAY, DAY, DAY + dt.timedelta(days=100)):  # first run, same-day recompute, a change later
        with connection.execute_wrapper(record):
            segments_compute(day, CONFIG)
    inserts = [s for s in statements if s.upper().startswith("INSERT INTO")]
    assert any(s.startswith("INSERT INTO care_segmentspan") for s in inserts)
    for sql in inserts:
        table = sql.split()[2]
        body = re.split(r"\bON CONFLICT\b", sql[len("INSERT INTO ") + len(table):])[0]
        assert not re.search(rf"\b{table}\b", body), sql[:200]
    spans = SegmentSpan.objects.filter(member=members[0]).order_by("valid_from")
    assert [(s.valid_from, s.valid_to, s.lifecycle) for s in spans] == [
        (DAY, DAY + dt.timedelta(days=100), "new"), (DAY + dt.timedelta(days=100), None, "dormant")]
    assert SegmentSpan.objects.filter(valid_to__isnull=True).count() == 3  # one open span per member


STATS_COLUMNS = ["member_id", "first_day", "last_day", "days_12m", "cents_12m", "receipts_t", "cents_t", "days_recent",
                 "days_base", "full_12m", "cents_recent", "cents_base", "rfm_last", "rfm_days", "rfm_cents",
                 "median_gap"]


@pytest.mark.parametrize("step", [1, 7, 45, 320])  # 320: days leave the recent window and the 12 months
def test_statistics_moved_forward_equal_the_statistics_made_afresh(shop, step, monkeypatch):
    """Issue 20: a later day updates the members whose days only left the ticket, recent or RFM window by the
    difference; the figures equal a computation from scratch on that day, field by field (windows of different
    lengths, so that each edge is crossed by itself; days on each edge and beside it)."""
    from membercare.care import purchase_days
    from membercare.care.models import CareCursor, PurchaseStats
    from membercare.care.purchase_days import STATS_CURSOR

    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)  # else every receipt here is re-read as a late upload

    config = merge(DEFAULTS, {"segments": {"rfm": {"window_days": 200}, "seven": {"ticket_window_days": 120,
                                                                                 "churn_recent_days": 60}}})
    earlier = DAY - dt.timedelta(days=step)
    for window in (60, 120, 200, 365):
        for offset in sorted({0, 1, 2, step - 1, step, step + 1}):
            member = MemberFactory(home_store=shop)  # a day on (or beside) one window's edge, one inside all
            buy(member, earlier - dt.timedelta(days=window - 1) + dt.timedelta(days=offset),
                amount=f"{100 + window}.00")
            buy(member, earlier - dt.timedelta(days=5), amount="77.00")
    lone = MemberFactory(home_store=shop)  # one day in the RFM window, gone from it on DAY: RFM last day NULL
    buy(lone, earlier - dt.timedelta(days=199))
    buy(lone, DAY - dt.timedelta(days=300))
    segments_compute(earlier, config)
    segments_compute(DAY, config)
    moved = list(PurchaseStats.objects.order_by("member_id").values_list(*STATS_COLUMNS))
    assert any(row[0] == lone.pk and row[12] is None for row in moved)
    CareCursor.objects.filter(name=STATS_CURSOR).delete()
    segments_compute(DAY, config)
    assert list(PurchaseStats.objects.order_by("member_id").values_list(*STATS_COLUMNS)) == moved


def test_the_next_day_classifies_only_who_can_change_and_equals_classifying_everyone(shop, monkeypatch):
    """Issue 20: after a classification of the day before, only the members whose figures changed, whose dates
    crossed a threshold, whom a cut-off passed or who are new are classified again; the result equals classifying
    every member. Each member here changes for one of those reasons alone."""
    from membercare.care import purchase_days, segments
    from membercare.care.models import SegmentCuts

    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)
    monkeypatch.setattr(segments, "NEW_MEMBERS_LOOKBACK", 0)
    before = DAY - dt.timedelta(days=1)
    crossing = {}
    for name, days_ago in (("sleeping", 180), ("active", 30), ("lost", 365), ("dormant", 90)):
        crossing[name] = MemberFactory(home_store=shop)  # one purchase day: the day makes it cross, nothing else
        buy(crossing[name], DAY - dt.timedelta(days=days_ago))
    left = MemberFactory(home_store=shop)  # loses a day from the recent window, nothing else
    buy(left, DAY - dt.timedelta(days=90))
    buy(left, DAY - dt.timedelta(days=20))
    steady = [MemberFactory(home_store=shop) for _ in range(8)]
    for i, member in enumerate(steady):
        buy(member, DAY - dt.timedelta(days=10 + i), amount=f"{1000 + 100 * i}.00")
    segments_compute(before, CONFIG)
    assert MemberSegments.objects.get(member=crossing["sleeping"]).lifecycle == "dormant"
    assert MemberSegments.objects.get(member=crossing["active"]).lifecycle == "new"
    newcomer = MemberFactory(home_store=shop)  # registered since: a prospect's row
    rich = steady[0]
    buy(rich, DAY, amount="90000.00")  # new figures, and the A class's cut-off moves past others
    segments_compute(DAY, CONFIG)
    assert segments.TIMINGS["classified"] != "all"
    assert int(segments.TIMINGS["classified"]) < MemberSegments.objects.count()
    got = {row["member_id"]: row for row in MemberSegments.objects.values()}
    assert {name: got[m.pk]["lifecycle"] for name, m in crossing.items()} == {
        "sleeping": "sleeping", "active": "active", "lost": "lost", "dormant": "dormant"}
    assert got[newcomer.pk]["lifecycle"] == "prospect"
    assert got[left.pk]["purchase_days_3m"] == 1
    SegmentCuts.objects.all().delete()  # everyone classified again: the same rows
    segments_compute(DAY, CONFIG)
    assert segments.TIMINGS["classified"] == "all"
    assert {row["member_id"]: row for row in MemberSegments.objects.values()} == got


def test_a_responder_whose_rank_among_responders_moved_is_classified_again(shop, monkeypatch):
    """Issue 20: the low-ticket segments rank the marketing responders among themselves, so a member can enter one
    while no figure and no other cut-off moved: Y's receipt is attributed to a coupon after the day's computation;
    recomputed, Y (now the bottom responder of five) is low-ticket low-frequency and X (the bottom of four
    before) no longer is."""
    from membercare.care import purchase_days, segments
    from tests.care.test_segments_properties import _mark

    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)
    monkeypatch.setattr(segments, "NEW_MEMBERS_LOOKBACK", 0)
    for amount in ("100000.00", "80000.00", "60000.00"):  # three big responders, three purchase days each
        member = MemberFactory(home_store=shop)
        for days_ago in (20, 40, 60):
            sale = buy(member, DAY - dt.timedelta(days=days_ago), amount=amount)
        _mark(sale, 1)
    x, y = MemberFactory(home_store=shop), MemberFactory(home_store=shop)
    _mark(buy(x, DAY - dt.timedelta(days=10), amount="100.00"), 1)
    y_sale = buy(y, DAY - dt.timedelta(days=5), amount="50.00")
    segments_compute(DAY, CONFIG)
    assert (MemberSegments.objects.get(member=x).low_ticket_low_freq,
            MemberSegments.objects.get(member=y).low_ticket_low_freq) == (True, False)
    _mark(y_sale, 1)
    segments_compute(DAY, CONFIG)
    assert segments.TIMINGS["classified"] != "all"
    assert (MemberSegments.objects.get(member=x).low_ticket_low_freq,
            MemberSegments.objects.get(member=y).low_ticket_low_freq) == (False, True)


def test_after_recomputing_an_earlier_day_the_next_day_classifies_everyone(shop):
    """The rows computed on a later day stay as they were when an earlier day is recomputed, so they follow no
    single set of cut-offs: the next run must not classify only the members those cut-offs would move."""
    from membercare.care import segments

    member = MemberFactory(home_store=shop)
    buy(member, DAY - dt.timedelta(days=40))
    segments_compute(DAY, CONFIG)
    segments_compute(DAY - dt.timedelta(days=10), CONFIG)
    segments_compute(DAY + dt.timedelta(days=1), CONFIG)
    assert segments.TIMINGS["classified"] == "all"
    segments_compute(DAY + dt.timedelta(days=2), CONFIG)
    assert segments.TIMINGS["classified"] != "all"


def test_a_member_flagged_low_ticket_who_stops_responding_is_classified_again(shop, monkeypatch):
    """Issue 20: a member flagged low-ticket the day before is classified again although their figures did not
    change and they are no longer a responder (here the coupon redemption that made them one was withdrawn)."""
    from membercare.campaigns.models import CouponRedemption
    from membercare.care import purchase_days, segments
    from tests.care.test_segments_properties import _mark

    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)
    monkeypatch.setattr(segments, "NEW_MEMBERS_LOOKBACK", 0)
    for amount in ("100000.00", "80000.00", "60000.00"):  # three big responders, three purchase days each
        member = MemberFactory(home_store=shop)
        for days_ago in (20, 40, 60):
            sale = buy(member, DAY - dt.timedelta(days=days_ago), amount=amount)
        _mark(sale, 1)
    x = MemberFactory(home_store=shop)
    x_sale = buy(x, DAY - dt.timedelta(days=10), amount="100.00")
    _mark(x_sale, 1)
    segments_compute(DAY, CONFIG)
    assert MemberSegments.objects.get(member=x).low_ticket_low_freq is True
    CouponRedemption.objects.filter(receipt=x_sale).delete()
    segments_compute(DAY, CONFIG)
    assert segments.TIMINGS["classified"] != "all"
    assert MemberSegments.objects.get(member=x).low_ticket_low_freq is False
