"""Property (issue 19 part 2): after any sequence of sales, returns, event points, mall redemptions (gifts at
the counter and in the member centre, coupons), donations, manual adjustments and expiry, for several members,
every balance = its ledger sum = its open lots; the chain's points liability sums the same three ways, and the
mall's and donations' records equal the ledger's redeemed and donated points."""

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.campaigns.mall import mall_item_save, mall_pickup, mall_redeem
from membercare.campaigns.models import MallRedemption
from membercare.checkout.pipeline import CheckoutError, LineIn, ReturnLineIn, checkout_post, return_post
from membercare.loyalty.donations import points_donate
from membercare.loyalty.models import LoyaltyAccount, PointsDonation, PointsEntry, ProgrammeVersion
from membercare.loyalty.points import ledger_sum, points_adjust, points_expire_due, points_liability
from membercare.loyalty.points_events import earn_event
from membercare.loyalty.programme_services import normalize_rules
from membercare.org.models import Role
from membercare.sales.models import Receipt
from membercare.service.gifts import gift_save, stock_receive
from tests.factories import MemberFactory, StaffFactory

TZ = ZoneInfo("Asia/Shanghai")
SKUS = ["SHIRT", "BELT", "BAG"]
WHO = st.integers(0, 2)
RUNS = itertools.count()

op = st.one_of(
    st.tuples(st.just("buy"), WHO, st.sampled_from(SKUS), st.integers(1, 2), st.integers(0, 800)),
    st.tuples(st.just("return"), st.integers(0, 20), st.booleans()),
    st.tuples(st.just("event"), WHO, st.sampled_from(["survey", "profile", "member_date"]), st.integers(0, 3)),
    st.tuples(st.just("mall"), WHO, st.sampled_from(["gift_counter", "gift_centre", "coupon"])),
    st.tuples(st.just("pickup"), st.integers(0, 20)),
    st.tuples(st.just("donate"), WHO, st.integers(1, 700)),
    st.tuples(st.just("adjust"), WHO, st.integers(-400, 400).filter(bool)),
    st.tuples(st.just("expire"), st.integers(30, 800)),
)


def check_books(members):
    for member in members:
        account = LoyaltyAccount.objects.filter(member=member).first()
        if account is None:
            continue
        lots = PointsEntry.objects.filter(member=member, remaining__gt=0).aggregate(s=Sum("remaining"))["s"] or 0
        assert account.points == ledger_sum(member) == lots >= 0
    books = points_liability(point_value=Decimal("0.01"))
    assert books["balances"] == books["ledger"] == books["open_lots"] == sum(books["by_kind"].values())
    assert books["value"] == (Decimal(books["balances"]) / 100).quantize(Decimal("0.01"))
    mall = MallRedemption.objects.aggregate(s=Sum("points"))["s"] or 0
    mall_entries = PointsEntry.objects.filter(mall_redemption__isnull=False).aggregate(s=Sum("points"))["s"] or 0
    assert mall == -mall_entries
    donated = PointsDonation.objects.aggregate(s=Sum("points"))["s"] or 0
    assert donated == -books["by_kind"].get("donation", 0)
    assert PointsEntry.objects.exclude(source_key="").values("member", "source_key").distinct().count() == (
        PointsEntry.objects.exclude(source_key="").count())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=14))
def test_the_books_hold_after_any_sequence(chain, make_batch, ops):
    ProgrammeVersion.objects.create(effective_from=dt.date(2000, 1, 1), created_at=dt.datetime(2026, 1, 1, tzinfo=TZ),
                                    rules=normalize_rules({
                                        "earn_events": {"survey": {"points": 50, "yearly_cap": 120},
                                                        "profile": {"points": 100, "yearly_cap": 100},
                                                        "member_date": {"points": 200, "yearly_cap": 200,
                                                                        "valid_days": 30}},
                                        "charities": [{"code": "school", "name": "希望工程助学"}]}))
    hq = StaffFactory(role=Role.SPECIALIST)
    members = [MemberFactory(home_store=chain.shop) for _ in range(3)]
    gift = gift_save(by=hq, code=f"UMB{next(RUNS)}", name="品牌雨伞")  # examples share the database
    stock_receive(gift=gift, store=chain.shop, quantity=3, by=hq)
    batch = make_batch(valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2030, 12, 31))
    items = {"gift": mall_item_save(by=hq, kind="gift", name="品牌雨伞", points=300, gift=gift),
             "coupon": mall_item_save(by=hq, kind="coupon", name="百元券", points=200, batch=batch, coupon_stock=2)}
    now = dt.datetime(2026, 1, 5, 12, tzinfo=TZ)
    sales: list[Receipt] = []
    vouchers: list[MallRedemption] = []
    for step in ops:
        now += dt.timedelta(days=1)
        try:
            if step[0] == "buy":
                _, who, sku, qty, redeem = step
                member = members[who]
                balance = LoyaltyAccount.objects.filter(member=member).values_list("points", flat=True).first() or 0
                sales.append(checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone,
                                           lines=[LineIn(sku, qty)], redeem_points=min(redeem, balance), sold_at=now))
            elif step[0] == "return" and sales:
                _, which, full = step
                sale = sales[which % len(sales)]
                return_post(original=sale, lines=None if full else [ReturnLineIn(sale.lines.first().pk, 1)],
                            clerk=chain.clerk, store=chain.shop, at=now)
            elif step[0] == "event":
                _, who, event, key = step
                earn_event(member=members[who], event=event, key=str(key) if event != "profile" else "", at=now)
            elif step[0] == "mall":
                _, who, how = step
                item = items["coupon" if how == "coupon" else "gift"]
                done = mall_redeem(member=members[who], item=item,
                                   channel="counter" if how == "gift_counter" else "member_centre",
                                   store=chain.shop, by=chain.clerk if how == "gift_counter" else None, at=now)
                if done.status == "to_collect":
                    vouchers.append(done)
            elif step[0] == "pickup" and vouchers:
                mall_pickup(code=vouchers[step[1] % len(vouchers)].code, store=chain.shop, by=chain.clerk, at=now)
            elif step[0] == "donate":
                points_donate(member=members[step[1]], charity="school", points=step[2], at=now)
            elif step[0] == "adjust":
                points_adjust(member=members[step[1]], points=step[2], reason="盘点更正", by=hq,
                              category="correction", at=now)
            elif step[0] == "expire":
                now += dt.timedelta(days=step[1])
                points_expire_due(today=now.date())
        except (CheckoutError, ValidationError):
            pass  # a refusal (short balance, out of stock, collected already…) must leave the books as they were
        check_books(members)
