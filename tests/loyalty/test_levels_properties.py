"""Property (issue 19 part 1): for random programmes (2 to 4 levels of one brand, amount / purchase-days / single
receipt thresholds, any or all) and random purchase histories, the level a member holds after each sale equals a
brute-force evaluation of the rules over the history."""

import copy
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membercare.checkout.pipeline import LineIn, checkout_post
from membercare.loyalty.models import Card
from membercare.loyalty.programme import DEFAULT_RULES
from tests.factories import MemberFactory
from tests.loyalty.levels import store_programme

TZ = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 3, 1, tzinfo=TZ)
PRICES = {"SHIRT": Decimal("1000"), "BELT": Decimal("999"), "BAG": Decimal("3000"), "POLO": Decimal("1500"),
          "SUIT": Decimal("5000")}  # the loyalty chain's main-brand products


@st.composite
def programmes(draw):
    n = draw(st.integers(2, 4))
    # thresholds rise with the rank (a programme where a higher level asks less on every shared threshold is
    # refused by the editor's checks): each drawn sorted, then some left out
    rolling = sorted(draw(st.lists(st.integers(1, 30).map(lambda k: k * 1000), min_size=n, max_size=n)))
    days = sorted(draw(st.lists(st.integers(1, 8), min_size=n, max_size=n)))
    single = sorted(draw(st.lists(st.integers(2, 12).map(lambda k: k * 1000), min_size=n, max_size=n)))
    levels = []
    for i in range(n):
        keep = draw(st.sets(st.sampled_from(["rolling", "days", "single"]), min_size=1))
        levels.append({
            "code": f"lv{i + 1}", "name": f"等级{i + 1}", "rank": i + 1, "brands": ["MAIN"], "issue_brand": "MAIN",
            "discount": "0", "single_receipt_by_series": {}, "requires": None, "birthday": None,
            "rolling_paid": str(rolling[i]) if "rolling" in keep else None,
            "purchase_days": days[i] if "days" in keep else None,
            "single_receipt": str(single[i]) if "single" in keep else None,
            "qualify": draw(st.sampled_from(["any", "all"]))})
    return {"window_days": draw(st.sampled_from([7, 15, 30, 365])), "levels": levels}


# a purchase: (day after START, hour, [(sku, quantity)])
purchases = st.lists(st.tuples(st.integers(0, 45), st.integers(10, 21),
                               st.lists(st.tuples(st.sampled_from(sorted(PRICES)), st.integers(1, 2)),
                                        min_size=1, max_size=2)),
                     min_size=1, max_size=8)


def brute_force(levels: list[dict], window_days: int, history: list[tuple[dt.datetime, Decimal]]) -> str:
    """The level the rules give after `history` (time, paid), sale by sale: after each sale the highest level
    above the one held whose rules the sale or the window up to it meets."""
    held_rank, held = 0, "accumulation"
    for i, (at, paid) in enumerate(history):
        window = [(t, p) for t, p in history[:i + 1] if at - dt.timedelta(days=window_days) < t <= at]
        total = sum((p for _t, p in window), Decimal("0"))
        days = len({t.astimezone(TZ).date() for t, _p in window})
        for level in sorted(levels, key=lambda x: -x["rank"]):
            if level["rank"] <= held_rank:
                break
            met = []
            if level["single_receipt"] is not None:
                met.append(paid >= Decimal(level["single_receipt"]))
            if level["rolling_paid"] is not None:
                met.append(total >= Decimal(level["rolling_paid"]))
            if level["purchase_days"] is not None:
                met.append(days >= level["purchase_days"])
            if met and (all(met) if level["qualify"] == "all" else any(met)):
                held_rank, held = level["rank"], level["code"]
                break
    return held


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(programme=programmes(), bought=purchases)
def test_the_level_held_equals_a_brute_force_evaluation(chain, programme, bought):
    rules = copy.deepcopy(DEFAULT_RULES)
    rules.update(window_days=programme["window_days"], tiers=programme["levels"])
    store_programme(rules)  # the latest version from 2000-01-01: in force for every sale below
    member = MemberFactory(home_store=chain.shop)
    history: list[tuple[dt.datetime, Decimal]] = []
    for k, (day, hour, lines) in enumerate(sorted(bought, key=lambda b: (b[0], b[1]))):
        at = START + dt.timedelta(days=day, hours=hour, seconds=k)  # two sales never at the same second
        receipt = checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone,
                                lines=[LineIn(sku, qty) for sku, qty in lines], sold_at=at)
        paid = sum((PRICES[sku] * qty for sku, qty in lines), Decimal("0"))
        assert receipt.total_paid == paid  # no discount in these programmes: what is paid is the full price
        history.append((at, paid))
        held = Card.objects.get(member=member).kind
        assert held == brute_force(programme["levels"], programme["window_days"], history), (history, held)
