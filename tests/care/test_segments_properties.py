"""Property: every segment the SQL computes equals a straightforward reference computed here in plain Python
from the raw receipts, on random members, receipts and returns (hypothesis), on SQLite and on PostgreSQL —
with random marketing (coupons used, exclusive-sale receipts, event attendance at chosen stores, bulk-send
messages sent or failed) for seed 004's low-ticket segments (care.marketing)."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.campaigns.models import Coupon, CouponBatch, CouponIssue, CouponRedemption
from membercare.care import purchase_days, segments
from membercare.care.config import DEFAULTS, merge
from membercare.care.models import SEGMENT_FIELD_NAMES, MemberSegments, PurchaseDay
from membercare.care.segments import segments_compute
from membercare.events.models import Attendance, Event, EventReceipt
from membercare.messaging.models import BulkSend, Message, MessageTemplate
from membercare.sales.models import Receipt
from tests.factories import BrandFactory, MemberFactory, StoreFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 6, 30)
NOW = dt.datetime(2026, 6, 30, 23, 0, tzinfo=TZ)
STAT_FIELDS = segments.STAT_FIELDS


def top(share, n: int) -> int:
    return math.ceil(Fraction(str(share)) * n)


def marketing_revenue(day: dt.date, w12: dt.date, receipts: list[dict], returned: dict[int, int],
                      marketing: dict, response_days: int) -> dict[int, int]:
    """{member: marketing revenue in cents, > 0 only} (docs/segments.md): the member's sale receipts with a local
    day in [w12, day] that used a coupon or an exclusive sale's discount, or were made at an attended event's
    stores on its days, or within `response_days` of a bulk message sent to them; each once, net of returns."""
    claimed = set()
    for r in receipts:
        if r["original"] is not None or r["member"] is None:
            continue
        local = r["sold_at"].astimezone(TZ).date()
        if not w12 <= local <= day:
            continue
        hit = r["id"] in marketing["marked"]
        for member, first, last, stores in marketing["events"]:
            hit |= member == r["member"] and first <= local <= last and (stores is None or r["store"] in stores)
        for member, sent_at, status in marketing["messages"]:
            hit |= (member == r["member"] and status in ("sent", "delivered")
                    and sent_at <= r["sold_at"] < sent_at + dt.timedelta(days=response_days))
        if hit:
            claimed.add(r["id"])
    out: dict[int, int] = {}
    for r in receipts:
        if r["id"] in claimed:
            out[r["member"]] = out.get(r["member"], 0) + r["cents"] + returned.get(r["id"], 0)
    return {m: c for m, c in out.items() if c > 0}


def reference(day: dt.date, member_ids: list[int], receipts: list[dict], config: dict,
              marketing: dict | None = None) -> dict[int, dict]:
    """The segments of every member as of `day`, computed the obvious way (see care.segments' docstring)."""
    marketing = marketing or {"marked": set(), "events": [], "messages": []}
    seg = config["segments"]
    life, abc, seven, rfm = seg["lifecycle"], seg["abc"], seg["seven"], seg["rfm"]
    returned: dict[int, int] = {}
    returned_full: dict[int, int] = {}
    for r in receipts:
        if r["original"] is not None:
            returned[r["original"]] = returned.get(r["original"], 0) + r["cents"]
            returned_full[r["original"]] = returned_full.get(r["original"], 0) + r["full"]
    per_day: dict[tuple[int, dt.date], list[tuple[int, int]]] = {}
    for r in receipts:
        if r["original"] is None and r["member"] is not None:
            local = r["sold_at"].astimezone(TZ).date()
            per_day.setdefault((r["member"], local), []).append(
                (r["cents"] + returned.get(r["id"], 0), r["full"] + returned_full.get(r["id"], 0)))
    days: dict[int, list[tuple[dt.date, int, int, int]]] = {m: [] for m in member_ids}
    for (member, local), nets in per_day.items():
        if sum(n for n, _f in nets) > 0 and local <= day:
            days[member].append((local, sum(n for n, _f in nets), sum(1 for n, _f in nets if n > 0),
                                 sum(f for _n, f in nets)))

    def start(n: int) -> dt.date:
        return day - dt.timedelta(days=n - 1)

    w12, wt, wr, wrfm = (start(abc["window_days"]), start(seven["ticket_window_days"]),
                         start(seven["churn_recent_days"]), start(rfm["window_days"]))
    stats = {}
    for m, rows in days.items():
        rows.sort()
        in12 = [r for r in rows if r[0] >= w12]
        int_ = [r for r in rows if r[0] >= wt]
        inr = [r for r in rows if r[0] >= wrfm]
        gaps = sorted((b[0] - a[0]).days for a, b in zip(in12, in12[1:], strict=False))
        stats[m] = {
            "first": rows[0][0] if rows else None, "last": rows[-1][0] if rows else None,
            "days12": len(in12), "cents12": sum(r[1] for r in in12),
            "receipts_t": sum(r[2] for r in int_), "cents_t": sum(r[1] for r in int_),
            "recent": sum(1 for r in rows if r[0] >= wr), "base": sum(1 for r in in12 if r[0] < wr),
            "rfm_last": inr[-1][0] if inr else None, "rfm_days": len(inr), "rfm_cents": sum(r[1] for r in inr),
            "median_gap": math.ceil(statistics.median(gaps)) if gaps else None,
            "full12": sum(r[3] for r in in12), "cents_recent": sum(r[1] for r in rows if r[0] >= wr),
            "cents_base": sum(r[1] for r in in12 if r[0] < wr), "receipts12": sum(r[2] for r in in12),
        }
    p12 = sorted((m for m in member_ids if stats[m]["days12"]), key=lambda m: (-stats[m]["cents12"], m))
    n12 = len(p12)
    p_sales = {m: i + 1 for i, m in enumerate(p12)}
    # seed 004's low-ticket segments: the responders ranked by marketing revenue (descending, then member id),
    # their 12-month average receipt and purchase days against the responders' medians
    revenue = marketing_revenue(day, w12, receipts, returned, marketing, seven["marketing_response_days"])
    responders = sorted(revenue, key=lambda m: (-revenue[m], m))
    n_resp = len(responders)
    p_mkt = {m: i + 1 for i, m in enumerate(responders)}
    r_ticket = {m: float(stats[m]["cents12"]) / stats[m]["receipts12"] for m in responders}
    if responders:
        tv, dv = sorted(r_ticket.values()), sorted(stats[m]["days12"] for m in responders)
        med_ticket = (tv[(n_resp - 1) // 2] + tv[n_resp // 2]) / 2
        twice_med_days = dv[(n_resp - 1) // 2] + dv[n_resp // 2]
    ticket = {m: float(stats[m]["cents_t"]) / stats[m]["receipts_t"] for m in member_ids if stats[m]["receipts_t"]}
    p_ticket = {m: i + 1 for i, m in enumerate(sorted(ticket, key=lambda m: (-ticket[m], m)))}
    prfm = [m for m in member_ids if stats[m]["rfm_days"]]

    def score(key) -> dict[int, int]:
        vals = [key(m) for m in prfm]
        return {m: 1 + 5 * sum(1 for v in vals if v < key(m)) // len(prfm) for m in prfm}

    r_s, f_s, m_s = (score(lambda m: stats[m]["rfm_last"]), score(lambda m: stats[m]["rfm_days"]),
                     score(lambda m: stats[m]["rfm_cents"]))
    k_a = top(abc["a_share"], n12)
    k_ab = math.ceil((Fraction(str(abc["a_share"])) + Fraction(str(abc["b_share"]))) * n12)
    ratio = Fraction(str(seven["churn_ratio"]))
    base_days = abc["window_days"] - seven["churn_recent_days"]
    out = {}
    for m in member_ids:
        s = stats[m]
        since = (day - s["last"]).days if s["last"] else None
        if s["last"] is None:
            lifecycle = "prospect"
        elif since >= life["lost_days"]:
            lifecycle = "lost"
        elif since >= life["sleeping_days"]:
            lifecycle = "sleeping"
        elif since >= life["dormant_days"]:
            lifecycle = "dormant"
        elif (day - s["first"]).days < life["new_days"]:
            lifecycle = "new"
        else:
            lifecycle = "active"
        p = p_sales.get(m)
        # seed 002: turnover (purchase days) x profitability (paid / full price), D = to develop
        fu = seg["follow_up"]
        share = Fraction(str(fu["full_price_share"]))
        high_profit = s["cents12"] * share.denominator >= share.numerator * s["full12"]
        if not s["days12"] or (day - s["first"]).days < life["new_days"]:
            follow_up = "D"
        elif s["days12"] >= fu["turnover_days"]:
            follow_up = "A" if high_profit else "B"
        else:
            follow_up = "D" if high_profit else "C"
        spend_class = "" if p is None else "A" if p <= k_a else "B" if p <= k_ab else "C"
        r, f, mm = r_s.get(m, 0), f_s.get(m, 0), m_s.get(m, 0)
        total = r + f + mm
        out[m] = {
            "lifecycle": lifecycle, "spend_class": spend_class, "rfm_r": r, "rfm_f": f, "rfm_m": mm,
            "pyramid": "target" if not r else "key" if total >= 13 else "major" if total >= 10 else "potential",
            "follow_up": follow_up,
            "high_value": p is not None and p <= top(seven["high_value_share"], n12),
            "high_loyalty": (p is not None and p <= top(seven["high_loyalty_share"], n12)
                             and s["median_gap"] is not None
                             and s["median_gap"] <= seven["high_loyalty_max_gap_days"]),
            "high_ticket": m in p_ticket and p_ticket[m] <= top(seven["high_ticket_share"], len(ticket)),
            "low_ticket_high_freq": (m in p_mkt and p_mkt[m] <= top(seven["high_freq_share"], n_resp)
                                     and r_ticket[m] < med_ticket and 2 * s["days12"] > twice_med_days),
            "low_ticket_low_freq": (m in p_mkt and p_mkt[m] > n_resp - top(seven["low_share"], n_resp)
                                    and r_ticket[m] < med_ticket and 2 * s["days12"] < twice_med_days),
            "sleeping": since is not None and since >= seven["sleeping_days"],
            "churning": (s["base"] >= seven["churn_min_baseline_days"]
                         and s["recent"] * base_days * ratio.denominator
                         < ratio.numerator * seven["churn_recent_days"] * s["base"]),
            "first_purchase_on": s["first"], "last_purchase_on": s["last"], "purchase_days_12m": s["days12"],
            "spend_12m": Decimal(s["cents12"]) / 100, "receipts_6m": s["receipts_t"],
            "spend_6m": Decimal(s["cents_t"]) / 100, "purchase_days_3m": s["recent"],
            "median_gap_days": s["median_gap"], "full_price_12m": Decimal(s["full12"]) / 100,
            "spend_3m": Decimal(s["cents_recent"]) / 100, "spend_before_3m": Decimal(s["cents_base"]) / 100,
        }
    return out


def computed(member_ids: list[int]) -> dict[int, dict]:
    rows = MemberSegments.objects.filter(member_id__in=member_ids).values("member_id", *SEGMENT_FIELD_NAMES,
                                                                           *STAT_FIELDS)
    return {r.pop("member_id"): r for r in rows}


# a receipt: (member index, days before DAY, hour of the day, paid in cents, return share in quarters 0..4,
# marketing mark: 0 none, 1 a coupon used, 2 an exclusive sale's discount); at the other brand's store for some
# hours (the events' store conditions)
AMOUNTS = [0, 100, 9900, 25000, 39950, 100000, 123456, 500000]
days_before_st = st.one_of(st.integers(0, 40), st.integers(0, 420))
receipt_st = st.tuples(st.integers(0, 11), days_before_st, st.integers(0, 23), st.sampled_from(AMOUNTS),
                       st.sampled_from([0, 0, 0, 1, 2, 4]), st.sampled_from([0, 0, 1, 2]))
# an event attended: (member index, days before DAY it starts, days it lasts after the first, where: 0 at the
# home store, 1 at the other brand's store, 2 at every store of the home store's brand, 3 anywhere)
event_st = st.tuples(st.integers(0, 11), days_before_st, st.integers(0, 2), st.integers(0, 3))
# a bulk send's message: (member index, days before DAY, hour (sent at :17, receipts are at :30), status)
message_st = st.tuples(st.integers(0, 11), days_before_st, st.integers(0, 23),
                       st.sampled_from(["sent", "delivered", "failed"]))
config_st = st.fixed_dictionaries({
    "abc": st.fixed_dictionaries({"a_share": st.sampled_from([0.1, 0.2, 0.35]),
                                  "b_share": st.sampled_from([0.15, 0.3])}),
    "seven": st.fixed_dictionaries({
        "high_value_share": st.sampled_from([0.15, 0.3, 0.5]), "high_loyalty_max_gap_days": st.sampled_from([7, 30]),
        "high_ticket_share": st.sampled_from([0.15, 0.4]), "high_freq_share": st.sampled_from([0.15, 0.5, 1.0]),
        "low_share": st.sampled_from([0.15, 0.3, 0.6, 1.0]), "churn_recent_days": st.sampled_from([30, 90]),
        "marketing_response_days": st.sampled_from([3, 7]),
        "ticket_window_days": st.sampled_from([60, 183]), "churn_min_baseline_days": st.sampled_from([1, 2]),
    }),
    "lifecycle": st.fixed_dictionaries({"new_days": st.sampled_from([7, 30])}),
    "follow_up": st.fixed_dictionaries({"turnover_days": st.sampled_from([1, 2, 4]),
                                        "full_price_share": st.sampled_from([0.5, 0.8, 1.0])}),
})


class Rollback(Exception):
    pass


def _make(store, members: list, specs: list[tuple], start_number: int, marked: set | None = None,
          other=None) -> list[dict]:
    """Receipts for the specs (sales, and a return for a share of some of them) in the database and as dicts;
    a sale marked 1 used a coupon, 2 an exclusive sale's discount (ids added to `marked`)."""
    out = []
    for i, (mi, before, hour, cents, quarters, *mark) in enumerate(specs):
        local = dt.datetime.combine(DAY - dt.timedelta(days=before), dt.time(hour, 30), tzinfo=TZ)
        member = members[mi % len(members)] if members else None
        full = cents * (4, 5, 8)[hour % 3] // 4  # at full price, 20 % or 50 % off (by the hour: no new draw)
        at = other if other is not None and (hour // 4) % 3 == 2 else store
        sale = Receipt.objects.create(number=f"T{start_number + i:08d}", store=at, member=member,
                                      sold_at=local, total_full_price=Decimal(full) / 100,
                                      total_paid=Decimal(cents) / 100)
        out.append({"id": sale.pk, "member": sale.member_id, "sold_at": local, "cents": cents, "full": full,
                    "original": None, "store": at.pk})
        if mark and mark[0] and member is not None and marked is not None:
            _mark(sale, mark[0])
            marked.add(sale.pk)
        if quarters and cents:
            back, back_full = cents * quarters // 4, full * quarters // 4
            ret = Receipt.objects.create(number=f"T{start_number + i:08d}R", store=at, member=member,
                                         sold_at=local + dt.timedelta(days=2),
                                         total_full_price=-Decimal(back_full) / 100,
                                         total_paid=-Decimal(back) / 100, original=sale)
            out.append({"id": ret.pk, "member": ret.member_id, "sold_at": ret.sold_at, "cents": -back,
                        "full": -back_full, "original": sale.pk, "store": at.pk})
    return out


def _mark(sale: Receipt, mark: int) -> None:
    """A coupon used on the sale (1), or the sale's exclusive-sale discount (2)."""
    if mark == 1:
        batch = CouponBatch.objects.create(name="券", brand=sale.store.brand, value=Decimal("10.00"),
                                           valid_from=DAY - dt.timedelta(days=800), valid_to=DAY, created_at=NOW)
        issue = CouponIssue.objects.create(batch=batch, seed="s", issued_at=NOW)
        coupon = Coupon.objects.create(batch=batch, issue=issue, member_id=sale.member_id, code=f"C{sale.pk:010d}",
                                       issued_at=sale.sold_at, redeemed_at=sale.sold_at)
        CouponRedemption.objects.create(coupon=coupon, receipt=sale, store=sale.store, amount=Decimal("10.00"),
                                        redeemed_at=sale.sold_at)
    else:
        event = Event.objects.create(kind="exclusive_sale", title="折上折", starts_at=sale.sold_at,
                                     ends_at=sale.sold_at, created_at=NOW, extra_discount=Decimal("0.9"))
        EventReceipt.objects.create(event=event, receipt=sale, member_id=sale.member_id, discount=Decimal("0.9"))


def _marketing(store, other, members: list, events: list[tuple], messages: list[tuple]) -> dict:
    """Events attended and bulk messages in the database, and as the reference reads them."""
    out: dict = {"marked": set(), "events": [], "messages": []}
    template = MessageTemplate.objects.create(name="新品", category="new_arrivals", body="新品", updated_at=NOW)
    for mi, before, length, where in events:
        member = members[mi % len(members)]
        first = DAY - dt.timedelta(days=before)
        event = Event.objects.create(
            kind="salon", title="沙龙", brand=store.brand if where == 2 else None, created_at=NOW,
            starts_at=dt.datetime.combine(first, dt.time(10), tzinfo=TZ),
            ends_at=dt.datetime.combine(first + dt.timedelta(days=length), dt.time(18), tzinfo=TZ))
        if where in (0, 1):
            event.stores.set([store if where == 0 else other])
        Attendance.objects.get_or_create(event=event, member=member, defaults={"checked_in_at": event.starts_at})
        stores = {store.pk} if where in (0, 2) else {other.pk} if where == 1 else None
        out["events"].append((member.pk, first, first + dt.timedelta(days=length), stores))
    for mi, before, hour, status in messages:
        member = members[mi % len(members)]
        sent_at = dt.datetime.combine(DAY - dt.timedelta(days=before), dt.time(hour, 17), tzinfo=TZ)
        bulk = BulkSend.objects.create(name="群发", template=template, scheduled_at=sent_at, created_at=NOW,
                                       status="done")
        Message.objects.create(member=member, channel="sms", category="new_arrivals", is_marketing=True,
                               bulk=bulk, to="13800000000", body="新品", status=status, send_after=sent_at,
                               created_at=sent_at, sent_at=sent_at)  # failed: sent, reported undelivered
        out["messages"].append((member.pk, sent_at, status))
    return out


@pytest.mark.django_db(transaction=False)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(n_members=st.integers(1, 12), specs=st.lists(receipt_st, max_size=45),
       later=st.lists(receipt_st, max_size=15), overrides=config_st, first_before=st.integers(1, 40),
       events=st.lists(event_st, max_size=6), messages=st.lists(message_st, max_size=16))
def test_segments_equal_the_python_reference(db, monkeypatch, n_members, specs, later, overrides, first_before,
                                             events, messages):
    """Compute once on an earlier day, post more receipts (some dated before that day: late uploads), compute
    again: the incremental refresh of the purchase days and the segments match the reference."""
    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)  # the cursor alone must find the new receipts
    monkeypatch.setattr(segments, "NEW_MEMBERS_LOOKBACK", 0)  # only the members that can change are classified
    config = merge(DEFAULTS, {"segments": overrides})
    try:
        with transaction.atomic():
            store, other = StoreFactory(), StoreFactory(brand=BrandFactory(code="OTHER", name="副品牌"))
            members = [MemberFactory(home_store=store) for _ in range(n_members)]
            ids = [m.pk for m in members]
            marketing = _marketing(store, other, members, events, messages)
            receipts = _make(store, members, specs, 0, marketing["marked"], other)
            first_day = DAY - dt.timedelta(days=first_before)
            segments_compute(first_day, config)
            assert computed(ids) == reference(first_day, ids, receipts, config, marketing)
            receipts += _make(store, members, later, 1000, marketing["marked"], other)
            segments_compute(DAY, config)
            assert computed(ids) == reference(DAY, ids, receipts, config, marketing)
            kept = sorted(PurchaseDay.objects.values_list("member_id", "day", "paid_cents", "full_cents", "receipts"))
            segments.rebuild_purchase_days()  # the incremental table equals one built from scratch
            assert sorted(PurchaseDay.objects.values_list("member_id", "day", "paid_cents", "full_cents",
                                                          "receipts")) == kept
            raise Rollback
    except Rollback:
        pass
