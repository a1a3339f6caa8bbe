"""Property: every segment the SQL computes equals a straightforward reference computed here in plain Python
from the raw receipts, on random members, receipts and returns (hypothesis), on SQLite and on PostgreSQL."""

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

from membercare.care import purchase_days, segments
from membercare.care.config import DEFAULTS, merge
from membercare.care.models import SEGMENT_FIELD_NAMES, MemberSegments, PurchaseDay
from membercare.care.segments import segments_compute
from membercare.sales.models import Receipt
from tests.factories import MemberFactory, StoreFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 6, 30)
STAT_FIELDS = segments.STAT_FIELDS


def top(share, n: int) -> int:
    return math.ceil(Fraction(str(share)) * n)


def reference(day: dt.date, member_ids: list[int], receipts: list[dict], config: dict) -> dict[int, dict]:
    """The segments of every member as of `day`, computed the obvious way (see care.segments' docstring)."""
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
            "cents_base": sum(r[1] for r in in12 if r[0] < wr),
        }
    p12 = sorted((m for m in member_ids if stats[m]["days12"]), key=lambda m: (-stats[m]["cents12"], m))
    n12 = len(p12)
    p_sales = {m: i + 1 for i, m in enumerate(p12)}
    p_freq = {m: i + 1 for i, m in enumerate(sorted(p12, key=lambda m: (-stats[m]["days12"],
                                                                         -stats[m]["cents12"], m)))}
    ticket = {m: float(stats[m]["cents_t"]) / stats[m]["receipts_t"] for m in member_ids if stats[m]["receipts_t"]}
    p_ticket = {m: i + 1 for i, m in enumerate(sorted(ticket, key=lambda m: (-ticket[m], m)))}
    values = sorted(ticket.values())
    median_ticket = (values[(len(values) - 1) // 2] + values[len(values) // 2]) / 2 if values else 0.0
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
            "low_ticket_high_freq": (m in ticket and ticket[m] < median_ticket
                                     and p_freq[m] <= top(seven["high_freq_share"], n12)),
            "low_ticket_low_freq": p is not None and p > n12 - top(seven["low_share"], n12),
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


# a receipt: (member index, days before DAY, hour of the day, paid in cents, return share in quarters 0..4)
AMOUNTS = [0, 100, 9900, 25000, 39950, 100000, 123456, 500000]
receipt_st = st.tuples(st.integers(0, 11), st.one_of(st.integers(0, 40), st.integers(0, 420)),
                       st.integers(0, 23), st.sampled_from(AMOUNTS), st.sampled_from([0, 0, 0, 1, 2, 4]))
config_st = st.fixed_dictionaries({
    "abc": st.fixed_dictionaries({"a_share": st.sampled_from([0.1, 0.2, 0.35]),
                                  "b_share": st.sampled_from([0.15, 0.3])}),
    "seven": st.fixed_dictionaries({
        "high_value_share": st.sampled_from([0.15, 0.3, 0.5]), "high_loyalty_max_gap_days": st.sampled_from([7, 30]),
        "high_ticket_share": st.sampled_from([0.15, 0.4]), "high_freq_share": st.sampled_from([0.15, 0.5]),
        "low_share": st.sampled_from([0.15, 0.3]), "churn_recent_days": st.sampled_from([30, 90]),
        "ticket_window_days": st.sampled_from([60, 183]), "churn_min_baseline_days": st.sampled_from([1, 2]),
    }),
    "lifecycle": st.fixed_dictionaries({"new_days": st.sampled_from([7, 30])}),
    "follow_up": st.fixed_dictionaries({"turnover_days": st.sampled_from([1, 2, 4]),
                                        "full_price_share": st.sampled_from([0.5, 0.8, 1.0])}),
})


class Rollback(Exception):
    pass


def _make(store, members: list, specs: list[tuple], start_number: int) -> list[dict]:
    """Receipts for the specs (sales, and a return for a share of some of them) in the database and as dicts."""
    out = []
    for i, (mi, before, hour, cents, quarters) in enumerate(specs):
        local = dt.datetime.combine(DAY - dt.timedelta(days=before), dt.time(hour, 30), tzinfo=TZ)
        member = members[mi % len(members)] if members else None
        full = cents * (4, 5, 8)[hour % 3] // 4  # at full price, 20 % or 50 % off (by the hour: no new draw)
        sale = Receipt.objects.create(number=f"T{start_number + i:08d}", store=store, member=member,
                                      sold_at=local, total_full_price=Decimal(full) / 100,
                                      total_paid=Decimal(cents) / 100)
        out.append({"id": sale.pk, "member": sale.member_id, "sold_at": local, "cents": cents, "full": full,
                    "original": None})
        if quarters and cents:
            back, back_full = cents * quarters // 4, full * quarters // 4
            ret = Receipt.objects.create(number=f"T{start_number + i:08d}R", store=store, member=member,
                                         sold_at=local + dt.timedelta(days=2),
                                         total_full_price=-Decimal(back_full) / 100,
                                         total_paid=-Decimal(back) / 100, original=sale)
            out.append({"id": ret.pk, "member": ret.member_id, "sold_at": ret.sold_at, "cents": -back,
                        "full": -back_full, "original": sale.pk})
    return out


@pytest.mark.django_db(transaction=False)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(n_members=st.integers(1, 12), specs=st.lists(receipt_st, max_size=45),
       later=st.lists(receipt_st, max_size=15), overrides=config_st, first_before=st.integers(1, 40))
def test_segments_equal_the_python_reference(db, monkeypatch, n_members, specs, later, overrides, first_before):
    """Compute once on an earlier day, post more receipts (some dated before that day: late uploads), compute
    again: the incremental refresh of the purchase days and the segments match the reference."""
    monkeypatch.setattr(purchase_days, "LOOKBACK", 0)  # the cursor alone must find the new receipts
    config = merge(DEFAULTS, {"segments": overrides})
    try:
        with transaction.atomic():
            store = StoreFactory()
            members = [MemberFactory(home_store=store) for _ in range(n_members)]
            ids = [m.pk for m in members]
            receipts = _make(store, members, specs, 0)
            first_day = DAY - dt.timedelta(days=first_before)
            segments_compute(first_day, config)
            assert computed(ids) == reference(first_day, ids, receipts, config)
            receipts += _make(store, members, later, 1000)
            segments_compute(DAY, config)
            assert computed(ids) == reference(DAY, ids, receipts, config)
            kept = sorted(PurchaseDay.objects.values_list("member_id", "day", "paid_cents", "full_cents", "receipts"))
            segments.rebuild_purchase_days()  # the incremental table equals one built from scratch
            assert sorted(PurchaseDay.objects.values_list("member_id", "day", "paid_cents", "full_cents",
                                                          "receipts")) == kept
            raise Rollback
    except Rollback:
        pass
