"""A small hand-built chain whose right answers are written in the tests (see `world`).

Today is 2026-03-15 (Asia/Shanghai). Stores A (main brand, east), B (main brand, north), K (the sub-brand).

Receipts (local times):
  A  r1  m1  2026-03-02 10:00  1000.00  elite card
  A  r2  m2  2026-03-02 23:30   500.00  accumulation card   (UTC 15:30: still 2 March locally)
  A  r3  --  2026-03-03 00:30   300.00                      (UTC 2 March 16:30: 3 March locally)
  A  r4  m1  2026-03-10 12:00  -200.00  elite, return of r1
  B  r5  --  2026-03-05 11:00   800.00
  B  r6  m3  2026-02-27 11:00   400.00  diamond             (February)
  K  r7  m3  2026-03-06 11:00   600.00  knight
Members: m1, m2 registered at A on 1 March; m3 at B on 20 February; m4 at A on 10 January (no purchase).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine

from membercare.care.models import MemberSegments, Task, TaskStatus
from membercare.loyalty.models import Card, CardStatus, LoyaltyAccount, PointsEntry
from membercare.org.models import Brand, Role
from membercare.sales.models import Receipt
from tests.factories import BrandFactory, MemberFactory, RegionFactory, StaffFactory, StoreFactory

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 3, 15)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), SH)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(at(TODAY, 9), tick=False):
        yield


class World:
    pass


@pytest.fixture
def world(db):
    w = World()
    main = BrandFactory(code="MAIN", name="主品牌")
    sub = Brand.objects.create(company=main.company, code="JD", name="爵度", parent=main)
    east, north = RegionFactory(code="EAST", name="华东区"), RegionFactory(code="NORTH", name="华北区")
    w.main, w.sub = main, sub
    w.a = StoreFactory(code="A01", name="A店", brand=main, region=east)
    w.b = StoreFactory(code="B01", name="B店", brand=main, region=north)
    w.k = StoreFactory(code="K01", name="K店", brand=sub, region=east)
    w.clerk = StaffFactory(username="clerk_a", display_name="小王", role=Role.CLERK, stores=[w.a])
    w.clerk_b = StaffFactory(username="clerk_b", display_name="小李", role=Role.CLERK, stores=[w.b])
    w.manager = StaffFactory(username="manager_a", role=Role.MANAGER, stores=[w.a])
    w.specialist = StaffFactory(username="hq", role=Role.SPECIALIST)
    w.m1 = MemberFactory(name="张一", phone="13900000001", home_store=w.a, created_at=at(dt.date(2026, 3, 1)),
                         owner=w.clerk)
    w.m2 = MemberFactory(name="张二", phone="13900000002", home_store=w.a, created_at=at(dt.date(2026, 3, 1)),
                         owner=w.clerk)
    w.m3 = MemberFactory(name="张三", phone="13900000003", home_store=w.b, created_at=at(dt.date(2026, 2, 20)))
    w.m4 = MemberFactory(name="张四", phone="13900000004", home_store=w.a, created_at=at(dt.date(2026, 1, 10)),
                         owner=w.clerk)

    def receipt(number, store, member, when, paid, tier="", original=None, clerk=None):
        return Receipt.objects.create(number=number, store=store, member=member, sold_at=when,
                                      total_full_price=abs(Decimal(paid)), total_paid=Decimal(paid), tier=tier,
                                      original=original, clerk=clerk)

    w.r1 = receipt("r1", w.a, w.m1, at(dt.date(2026, 3, 2), 10), "1000.00", "elite", clerk=w.clerk)
    w.r2 = receipt("r2", w.a, w.m2, at(dt.date(2026, 3, 2), 23, 30), "500.00", "accumulation", clerk=w.clerk)
    w.r3 = receipt("r3", w.a, None, at(dt.date(2026, 3, 3), 0, 30), "300.00", clerk=w.clerk)
    w.r4 = receipt("r4", w.a, w.m1, at(dt.date(2026, 3, 10), 12), "-200.00", "elite", original=w.r1,
                   clerk=w.clerk)
    w.r5 = receipt("r5", w.b, None, at(dt.date(2026, 3, 5), 11), "800.00", clerk=w.clerk_b)
    w.r6 = receipt("r6", w.b, w.m3, at(dt.date(2026, 2, 27), 11), "400.00", "diamond")
    w.r7 = receipt("r7", w.k, w.m3, at(dt.date(2026, 3, 6), 11), "600.00", "knight")

    # points: earn 1000 (r1, A), reverse 200 (r4, A), redeem 100 (r2, A), adjust +50 (m3: B), expire 30 (m1: A)
    def entry(member, kind, points, when, receipt=None):
        return PointsEntry.objects.create(member=member, kind=kind, points=points, created_at=when, receipt=receipt)

    entry(w.m1, "earn", 1000, w.r1.sold_at, w.r1)
    entry(w.m1, "reverse", -200, w.r4.sold_at, w.r4)
    entry(w.m2, "redeem", -100, w.r2.sold_at, w.r2)
    entry(w.m3, "adjust", 50, at(dt.date(2026, 3, 4)))
    entry(w.m1, "expire", -30, at(dt.date(2026, 3, 6)))
    LoyaltyAccount.objects.create(member=w.m1, points=770)
    LoyaltyAccount.objects.create(member=w.m2, points=400)
    LoyaltyAccount.objects.create(member=w.m3, points=50)

    def card(number, member, kind, status=CardStatus.ACTIVE):
        return Card.objects.create(number=number, member=member, kind=kind, status=status, brand=main,
                                   issued_at=at(dt.date(2026, 3, 1)))

    card("E1", w.m1, "elite")
    card("A1", w.m1, "accumulation", CardStatus.VOID)
    card("A2", w.m2, "accumulation")
    card("D3", w.m3, "diamond")

    def segments(member, lifecycle, days_12m, **kw):
        MemberSegments.objects.create(member=member, computed_on=TODAY, lifecycle=lifecycle,
                                      purchase_days_12m=days_12m, **kw)

    segments(w.m1, "active", 3, spend_class="A", pyramid="key", follow_up="A", high_value=True)
    segments(w.m2, "new", 1, spend_class="B", pyramid="potential", follow_up="B")
    segments(w.m3, "dormant", 2, spend_class="A", pyramid="major", follow_up="A", churning=True)
    segments(w.m4, "prospect", 0, pyramid="target", follow_up="D")

    # care tasks at A for the clerk (and one nobody holds), one at B
    def task(key, store, assignee, due, status=TaskStatus.OPEN, done=None, member=None):
        return Task.objects.create(rule="test", key=key, member=member or w.m1, store=store, assignee=assignee,
                                   created_on=dt.date(2026, 3, 1), due_on=due, status=status, done_at=done)

    task("t1", w.a, w.clerk, dt.date(2026, 3, 5), TaskStatus.DONE, at(dt.date(2026, 3, 4)))
    task("t2", w.a, w.clerk, dt.date(2026, 3, 5), TaskStatus.DONE, at(dt.date(2026, 3, 7)))
    task("t3", w.a, w.clerk, dt.date(2026, 3, 10))
    task("t4", w.a, w.clerk, dt.date(2026, 3, 6), TaskStatus.CANCELLED)
    task("t5", w.a, None, dt.date(2026, 3, 8))
    task("t6", w.b, w.clerk_b, dt.date(2026, 3, 2), TaskStatus.DONE, at(dt.date(2026, 3, 2), 23, 30), member=w.m3)
    task("t7", w.a, w.clerk, dt.date(2026, 3, 20))  # due after today: not counted yet
    return w
