"""Every measure on the hand-built chain of conftest.py, with the right answer written here."""

import datetime as dt
from decimal import Decimal

import time_machine

from membercare.analytics import measures
from membercare.analytics.facts import analytics_refresh
from membercare.analytics.measures import Scope
from membercare.analytics.models import StoreDay

from .conftest import at

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def scope(*stores):
    return Scope(tuple(s.pk for s in stores) if stores else None, *MARCH)


def test_store_days_split_on_the_local_day(world):
    analytics_refresh()
    rows = {(r.store_id, r.day): r for r in StoreDay.objects.all()}
    assert rows[(world.a.pk, dt.date(2026, 3, 2))].sales_cents == 150000  # r1 + r2 (23:30 local)
    assert rows[(world.a.pk, dt.date(2026, 3, 3))].sales_cents == 30000  # r3 at 00:30 local
    assert rows[(world.a.pk, dt.date(2026, 3, 10))].returns_cents == -20000
    assert rows[(world.a.pk, dt.date(2026, 3, 1))].new_members == 2


def test_sales_summary_for_one_store(world):
    analytics_refresh()
    s = measures.sales_summary(scope(world.a))
    assert s["net_sales"] == Decimal("1600.00")  # 1000 + 500 + 300 - 200
    assert s["member_sales"] == Decimal("1300.00")  # 1000 + 500 - 200
    assert s["vip_card_sales"] == Decimal("800.00")  # elite 1000 - 200 (accumulation does not count)
    assert s["receipts"] == 3 and s["member_receipts"] == 2
    assert s["average_receipt"] == Decimal("600.00")  # 1800 / 3 (returns excluded)
    assert s["member_average_receipt"] == Decimal("750.00")
    assert s["vip_share"] == Decimal("0.8125")  # 1300 / 1600
    assert s["vip_card_share"] == Decimal("0.5000")
    assert s["new_members"] == 2


def test_sales_summary_for_the_chain(world):
    analytics_refresh()
    s = measures.sales_summary(scope())
    assert s["net_sales"] == Decimal("3000.00")  # A 1600 + B 800 + K 600 (r6 is in February)
    assert s["member_sales"] == Decimal("1900.00")
    assert s["vip_share"] == Decimal("0.6333")
    assert s["vip_share_target"] == Decimal("0.5")
    assert s["new_members"] == 2  # m3 registered in February
    feb = measures.sales_summary(Scope(None, dt.date(2026, 2, 1), dt.date(2026, 2, 28)))
    assert feb["net_sales"] == Decimal("400.00") and feb["new_members"] == 1


def test_sales_by_week(world):
    analytics_refresh()
    weeks = measures.sales_by_week(scope(world.a))
    assert weeks[0]["week"] == dt.date(2026, 2, 23)  # the Monday before 1 March
    by_week = {w["week"]: w for w in weeks}
    assert by_week[dt.date(2026, 3, 2)]["net_sales"] == Decimal("1800.00")
    assert by_week[dt.date(2026, 3, 9)]["net_sales"] == Decimal("-200.00")
    assert by_week[dt.date(2026, 2, 23)]["new_members"] == 2  # Sunday 1 March


def test_points(world):
    analytics_refresh()
    p = measures.points_summary(scope(world.a), point_value=Decimal("0.01"))
    assert (p["issued"], p["redeemed"], p["reversed"], p["expired"], p["adjusted"]) == (1000, 100, 200, 30, 0)
    assert p["outstanding"] == 1170 and p["holders"] == 2  # m1 770 + m2 400
    assert p["liability"] == Decimal("11.70")
    chain = measures.points_summary(scope())
    assert chain["adjusted"] == 50 and chain["outstanding"] == 1220 and chain["liability"] is None
    months = measures.points_by_month(scope(world.a))
    assert months == [{"month": dt.date(2026, 3, 1), "issued": 1000, "redeemed": 100}]


def test_segments_tiers_and_repurchase(world):
    analytics_refresh()
    seg = measures.segment_summary(scope(world.a))
    assert seg["day"] == dt.date(2026, 3, 15)
    assert seg["members"] == 3
    assert seg["tier"] == {"elite": 1, "accumulation": 1, "": 1}  # m1's void card does not count
    assert seg["lifecycle"] == {"active": 1, "new": 1, "prospect": 1}
    assert seg["pyramid"] == {"key": 1, "potential": 1, "target": 1}
    assert seg["flags"] == {"high_value": 1}
    assert (seg["buyers_12m"], seg["repeat_12m"], seg["repurchase_rate"]) == (2, 1, Decimal("0.5000"))
    chain = measures.segment_summary(scope())
    assert chain["members"] == 4 and chain["tier"]["diamond"] == 1
    assert chain["repurchase_rate"] == Decimal("0.6667")  # 2 of 3 buyers bought on two days or more
    assert chain["flags"] == {"high_value": 1, "churning": 1}


def test_tasks_per_clerk(world):
    analytics_refresh()
    rows = measures.tasks_by_clerk(scope(world.a))
    assert [(r["name"], r["due"], r["on_time"], r["late"], r["open"]) for r in rows] == [
        ("小王", 3, 1, 1, 1), ("", 1, 0, 0, 1)]  # t4 cancelled, t7 due after today
    assert rows[0]["on_time_rate"] == Decimal("0.3333")
    b = measures.tasks_by_clerk(scope(world.b))
    assert [(r["due"], r["on_time"]) for r in b] == [(1, 1)]  # done 23:30 local on the due day: on time


def test_clerk_own_work(world):
    sales = measures.clerk_sales(world.clerk.pk, *MARCH)
    assert sales["net_sales"] == Decimal("1600.00") and sales["receipts"] == 3
    assert sales["vip_share"] == Decimal("0.8125")
    weeks = measures.clerk_tasks_by_week(world.clerk.pk, *MARCH)
    assert sum(w["due"] for w in weeks) == 3 and sum(w["on_time"] for w in weeks) == 1
    assert measures.clerk_members(world.clerk.pk) == {"active": 1, "new": 1, "prospect": 1}


def test_nothing_to_show_gives_none_not_zero_division(db):
    s = measures.sales_summary(Scope(None, *MARCH))
    assert s["net_sales"] == Decimal("0.00") and s["average_receipt"] is None and s["vip_share"] is None
    assert measures.segment_summary(Scope(None, *MARCH)) == {"day": None}
    assert measures.churn_rate(Scope(None, *MARCH))["rate"] is None


def test_complaint_and_campaign_tiles_come_from_their_apps(world):
    from django.utils import translation

    from membercare.service.complaints import complaint_open

    with time_machine.travel(at(dt.date(2026, 3, 4), 10), tick=False):
        complaint_open(by=world.clerk, member=world.m1, store=world.a, category="quality", severity="low",
                       description="扣子掉了")
    with translation.override("en"), time_machine.travel(at(dt.date(2026, 3, 20), 10), tick=False):
        tile = measures.complaint_tile(scope(world.a), [world.a])
        other = measures.complaint_tile(scope(world.b), [world.b])
        campaigns = measures.campaign_tile(scope(world.a), [world.a])
    assert (tile["Opened"], tile["Open now"], tile["Overdue now"]) == (1, 1, 1)  # low: 7 days to resolve
    assert other["Opened"] == 0
    assert campaigns == []  # no coupon batch, event or bulk send in this chain


def test_campaign_tile_reads_the_results_of_the_nightly_run(world):
    from django.utils import translation

    from membercare.campaigns.models import Coupon, CouponBatch, CouponIssue

    batch = CouponBatch.objects.create(name="三月券", brand=world.main, kind="amount", value=100,
                                       valid_from=dt.date(2026, 3, 1), valid_to=dt.date(2026, 3, 31),
                                       created_at=at(dt.date(2026, 2, 25)))
    issue = CouponIssue.objects.create(batch=batch, audience={}, seed="t", issued=2, issued_at=at(dt.date(2026, 3, 1)))
    for i, m in enumerate((world.m1, world.m2)):
        Coupon.objects.create(batch=batch, issue=issue, member=m, code=f"T{i:011d}", issued_at=issue.issued_at)
    with translation.override("en"):
        assert measures.campaign_tile(scope(), []) == []  # nothing computed yet: the tile reads the nightly facts
        analytics_refresh(dt.date(2026, 4, 1))
        [row] = measures.campaign_tile(scope(), [])
        # m1: 1000 - 200 at A (main brand), m2: 500 at A; m3's 600 at the sub-brand's K is not theirs
        assert (row["name"], row["reached"], row["sales"]) == ("三月券", 2, Decimal("1300.00"))
        assert measures.campaign_tile(scope(world.a), [world.a])[0]["name"] == "三月券"  # a main-brand store
        assert measures.campaign_tile(scope(world.k), [world.k]) == []  # the sub-brand's store: not its batch
        assert measures.campaign_tile(Scope(None, dt.date(2026, 5, 1), dt.date(2026, 5, 31)), []) == []
