"""The demo generator's purchases: receipts and lines of each member's history, with the cards they earn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from membercare.core.sequences import reserve_numbers
from membercare.loyalty.models import CardKind, CardStatus

from .gen_catalogue import Catalogue
from .gen_common import (
    CARD_NUMBER_SEQUENCE,
    CARD_PREFIX,
    DAY,
    DIAMOND_12M,
    DIAMOND_SINGLE,
    ELITE_12M,
    ELITE_BUSINESS,
    ELITE_LEATHER_GOLF,
    KNIGHT_12M,
    KNIGHT_SINGLE,
    TIER_DISCOUNT,
    TZ_OFFSET,
    GenConfig,
    stream,
)
from .gen_names import ymd
from .gen_org import Org
from .gen_people import People
from .loader import (
    days_from_civil,
)


@dataclass
class Purchases:
    member: np.ndarray  # per receipt, member index; receipts sorted by time
    at: np.ndarray  # UTC seconds
    store: np.ndarray  # store index
    clerk: np.ndarray  # staff id
    card: np.ndarray  # card number or 0
    signed: np.ndarray
    group: np.ndarray
    full: np.ndarray  # cents
    paid: np.ndarray
    line_receipt: np.ndarray
    line_product: np.ndarray  # product id
    line_qty: np.ndarray
    line_full: np.ndarray
    line_paid: np.ndarray
    line_promo: np.ndarray
    created_at: np.ndarray  # per member
    owner: np.ndarray  # per member: staff id
    registered_by: np.ndarray
    cards: dict  # column -> array, for loyalty_card


# The demo's natural history (cfg.receipts None) follows the story of the purchase models (prediction.mbgnbd):
# while active a member buys at their own rate (mean days between purchases by segment: casual, regular,
# frequent, spread by a lognormal), and right after each purchase, the first included, stops for good with their
# own chance (Beta-distributed around the segment's mean). So members really stop buying: a chain's mix of
# active, dormant, sleeping and lost members, not everyone buying until today.
MEAN_GAP_DAYS = np.array([150.0, 60.0, 21.0])
DROPOUT = ((2.0, 2.4), (2.0, 9.0), (1.5, 20.0))  # Beta(a, b) per segment: mean 45 %, 18 %, 7 % per purchase
MAX_PURCHASES = 60


def _natural_days(rng: np.random.Generator, people: People, span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per member, the purchase days (offsets from the first, which is 0) of a buy-till-you-stop history
    within `span` days: returns (counts per member, offsets in member order)."""
    n, seg = people.n, people.segment
    rate = 1.0 / (MEAN_GAP_DAYS[seg] * rng.lognormal(0, 0.35, n))
    a = np.array([d[0] for d in DROPOUT])[seg]
    b = np.array([d[1] for d in DROPOUT])[seg]
    p = rng.beta(a, b)
    gaps = rng.exponential(1.0, (n, MAX_PURCHASES - 1)) / rate[:, None]
    at = np.concatenate([np.zeros((n, 1)), np.cumsum(gaps, axis=1)], axis=1)
    stops = rng.random((n, MAX_PURCHASES)) < p[:, None]  # stops right after purchase j
    lasting = np.argmax(np.concatenate([stops, np.ones((n, 1), dtype=bool)], axis=1), axis=1)  # last purchase j
    keep = (np.arange(MAX_PURCHASES)[None, :] <= lasting[:, None]) & (at < span[:, None])
    keep &= people.purchaser[:, None]
    counts = keep.sum(axis=1).astype(np.int64)
    return counts, at[keep].astype(np.int64)


def _receipt_counts(cfg: GenConfig, rng: np.random.Generator, people: People) -> np.ndarray:
    n, seg, purchaser = people.n, people.segment, people.purchaser.copy()
    total = cfg.receipts
    if purchaser.sum() > total:  # fewer receipts than purchasers: only the first ones buy
        purchaser[np.flatnonzero(purchaser)[total:]] = False
    base = purchaser.astype(np.int64)
    weight = np.array([1.0, 4.0, 15.0])[seg] * rng.lognormal(0, 0.5, n) * purchaser
    extra = total - int(base.sum())
    if extra > 0 and weight.sum() > 0:
        base += rng.multinomial(extra, weight / weight.sum())
    return base


def _first_per_member(member_sorted: np.ndarray, mask: np.ndarray, values: np.ndarray, n: int,
                      empty: int) -> np.ndarray:
    """For receipts sorted by (member, time): the value at each member's first receipt where mask."""
    out = np.full(n, empty, dtype=np.int64)
    members, first = np.unique(member_sorted[mask], return_index=True)
    out[members] = values[mask][first]
    return out


def make_purchases(cfg: GenConfig, org: Org, cat: Catalogue, people: People, today: int) -> tuple[Purchases, int]:
    rng = stream(cfg.seed, "purchases")
    n = people.n
    history = cfg.history_days
    start_day = today - history
    # registration day: later days a little more likely (the chain grows)
    reg_off = np.minimum((history * rng.random(n) ** 0.8).astype(np.int64), history - 1)
    natural = None
    if cfg.receipts is None:
        counts, natural = _natural_days(stream(cfg.seed, "purchases-natural"), people, history - reg_off)
    else:
        counts = _receipt_counts(cfg, rng, people)
    hour_p = np.array([3, 5, 6, 5, 6, 7, 8, 8, 9, 10, 9, 6], dtype=float)
    hour_p /= hour_p.sum()

    def time_of_day(size: int) -> np.ndarray:
        return (10 + rng.choice(12, size, p=hour_p)) * 3600 + rng.integers(0, 3600, size)

    # owner: a clerk of the home store; registered by the owner (sometimes the manager)
    home = people.home
    owner = org.clerks[home, (rng.random(n) * org.clerk_count[home]).astype(np.int64)]
    registered_by = np.where(rng.random(n) < 0.1, org.staff[home, 0], owner)

    total = int(counts.sum())
    member = np.repeat(np.arange(n, dtype=np.int64), counts)
    first = np.zeros(total, dtype=bool)
    first[(np.cumsum(counts) - counts)[counts > 0]] = True
    span = history - reg_off[member]
    if natural is not None:
        day = reg_off[member] + natural
    else:
        day = reg_off[member] + np.where(first, 0, (rng.random(total) * span).astype(np.int64))
    weekday = (start_day + day + 3) % 7  # 0 = Monday
    to_weekend = ~first & (weekday < 5) & (rng.random(total) < 0.3)
    moved = day + (5 - weekday)
    day = np.where(to_weekend & (moved < history), moved, day)
    at = (start_day + day) * DAY + time_of_day(total) - TZ_OFFSET

    # store: mostly the home store, else one of the same brand, rarely any store
    store_brand = org.store_brand
    store = home[member].copy()
    roll = rng.random(total)
    for b in (0, 1):
        same = np.flatnonzero(store_brand == b)
        mask = (roll >= 0.85) & (roll < 0.97) & (store_brand[store] == b) & ~first
        store[mask] = same[rng.integers(0, len(same), int(mask.sum()))]
    anywhere = (roll >= 0.97) & ~first
    store[anywhere] = rng.integers(0, len(org.store_ids), int(anywhere.sum()))
    own_clerk = (store == home[member]) & (first | (rng.random(total) < 0.6))
    clerk = np.where(own_clerk, np.where(first, registered_by[member], owner[member]),
                     org.staff[store, (rng.random(total) * org.staff_count[store]).astype(np.int64)])

    # receipts in time order: ids and numbers grow with time
    order = np.lexsort((member, at))
    member, at, store, clerk = member[order], at[order], store[order], clerk[order]
    segment = people.segment[member]
    brand = store_brand[store]

    # lines: 1-3 per receipt, frequent big spenders buy more and dearer
    nlines = np.where(segment == 2, rng.choice([1, 2, 3], total, p=[0.6, 0.3, 0.1]),
                      rng.choice([1, 2, 3], total, p=[0.84, 0.13, 0.03]))
    line_receipt = np.repeat(np.arange(total, dtype=np.int64), nlines)
    nl = len(line_receipt)
    line_brand = brand[line_receipt]
    line_big = segment[line_receipt] == 2
    product = np.zeros(nl, dtype=np.int64)
    for b in (0, 1):
        pool = np.flatnonzero(cat.brand == b)
        for big, power in ((False, -0.6), (True, 0.25)):
            mask = (line_brand == b) & (line_big == big)
            cdf = np.cumsum(cat.price[pool].astype(float) ** power)
            cdf /= cdf[-1]
            product[mask] = pool[np.minimum(np.searchsorted(cdf, rng.random(int(mask.sum()))), len(pool) - 1)]
    qty = np.where(cat.multi[product] & (rng.random(nl) < 0.25), 2, 1)
    line_full = cat.price[product] * qty
    promo = rng.random(nl) < 0.18
    promo_rate = np.array([500, 600, 700, 800, 880])[rng.choice(5, nl, p=[0.1, 0.2, 0.3, 0.3, 0.1])]
    paid_pre = np.where(promo, (line_full * promo_rate + 500) // 1000, line_full)

    def per_receipt(values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        weights = values if mask is None else np.where(mask, values, 0)
        return np.bincount(line_receipt, weights=weights, minlength=total).astype(np.int64)

    series = cat.series[product]
    rec_paid = per_receipt(paid_pre)
    rec_business = per_receipt(paid_pre, series == 0)
    rec_leather_golf = per_receipt(paid_pre, (series == 1) | (series == 2))

    # tiers from the history (paid amounts): first qualifying receipt per member
    by_member = np.lexsort((at, member))
    m_s, t_s = member[by_member], at[by_member]
    base = t_s.min() - 400 * DAY if total else 0
    key = (m_s << 32) + (t_s - base)
    window_start = np.searchsorted(key, key - 365 * DAY, side="left")

    def rolling(values: np.ndarray) -> np.ndarray:
        cs = np.cumsum(values)
        return cs - np.where(window_start > 0, cs[np.maximum(window_start - 1, 0)], 0)

    main_s = brand[by_member] == 0
    paid_s = rec_paid[by_member]
    main_12m = rolling(np.where(main_s, paid_s, 0))
    sub_12m = rolling(np.where(~main_s, paid_s, 0))
    elite_q = main_s & ((rec_business[by_member] >= ELITE_BUSINESS) |
                        (rec_leather_golf[by_member] >= ELITE_LEATHER_GOLF) | (main_12m >= ELITE_12M))
    diamond_q = main_s & ((paid_s >= DIAMOND_SINGLE) | (main_12m >= DIAMOND_12M))
    knight_q = ~main_s & ((paid_s >= KNIGHT_SINGLE) | (sub_12m >= KNIGHT_12M))
    never = 1 << 62
    elite_t = _first_per_member(m_s, elite_q, t_s, n, never)
    diamond_t = _first_per_member(m_s, diamond_q, t_s, n, never)
    knight_t = _first_per_member(m_s, knight_q, t_s, n, never)
    elite_t[diamond_t <= elite_t] = never  # straight to diamond
    first_t = _first_per_member(m_s, np.ones(total, dtype=bool), t_s, n, never)

    has_acc = first_t != never
    created_at = np.where(has_acc, first_t - rng.integers(120, 900, n),
                          (start_day + reg_off) * DAY + time_of_day(n) - TZ_OFFSET)

    # cards: accumulation at the first purchase (valid 1 year), then elite / diamond / knight
    acc_issue = np.where(has_acc, first_t - 30, never)
    y, mo, d = ymd((np.where(has_acc, first_t, 0) - 30 + TZ_OFFSET) // DAY)

    acc_until = days_from_civil(y + 1, mo, np.where((mo == 2) & (d == 29), 28, d))
    acc_until_end = (acc_until + 1) * DAY - TZ_OFFSET  # valid through that whole local day
    has_elite, has_diamond, has_knight = elite_t != never, diamond_t != never, knight_t != never
    kinds = [(CardKind.ACCUMULATION, has_acc, acc_issue), (CardKind.ELITE, has_elite, elite_t + 300),
             (CardKind.DIAMOND, has_diamond, diamond_t + 300), (CardKind.KNIGHT, has_knight, knight_t + 300)]
    card_member = np.concatenate([np.flatnonzero(has) for _k, has, _t in kinds])
    card_kind = np.concatenate([np.full(int(has.sum()), i) for i, (_k, has, _t) in enumerate(kinds)])
    card_issue = np.concatenate([t[has] for _k, has, t in kinds])
    card_order = np.lexsort((card_kind, card_member, card_issue))
    card_member, card_kind, card_issue = card_member[card_order], card_kind[card_order], card_issue[card_order]
    ncards = len(card_member)
    seq = np.array(reserve_numbers(CARD_NUMBER_SEQUENCE, ncards) if ncards else [], dtype=np.int64)
    prefix = np.array([CARD_PREFIX[k] for k, _h, _t in kinds], dtype=np.int64)
    card_number = prefix[card_kind] * 1_000_000_000 + seq
    number_of = np.zeros((4, n), dtype=np.int64)
    number_of[card_kind, card_member] = card_number
    upgraded = has_elite | has_diamond
    void, expired, active = CardStatus.VOID.value, CardStatus.EXPIRED.value, CardStatus.ACTIVE.value
    acc_status = np.where(upgraded, void, np.where(acc_until < today, expired, active))
    status_by_kind = [acc_status, np.where(has_diamond, void, active), np.full(n, active), np.full(n, active)]
    card_status = np.empty(ncards, dtype=object)
    for i in range(4):
        sel = card_kind == i
        card_status[sel] = np.asarray(status_by_kind[i], dtype=object)[card_member[sel]]
    cards = {
        "number": card_number, "member": card_member, "issued_at": card_issue,
        "kind": np.array([k.value for k, _h, _t in kinds], dtype=object)[card_kind],
        "status": card_status,
        "brand": np.where(card_kind == 3, org.brands["JUEDU"].pk, org.brands["MAIN"].pk),
        "valid_until": np.where(card_kind == 0, acc_until[card_member], 0), "has_until": card_kind == 0,
    }

    # the card each receipt carries (the best valid one at the time) and its discount on full-price lines
    rank = np.zeros(total, dtype=np.int64)  # 0 none, 1 accumulation, 2 elite, 3 diamond, 4 knight
    card = np.zeros(total, dtype=np.int64)
    m = member
    for r, valid in (
        (1, (acc_issue[m] <= at) & (at < acc_until_end[m])),
        (2, has_elite[m] & (elite_t[m] + 300 <= at)),
        (3, has_diamond[m] & (diamond_t[m] + 300 <= at)),
        (4, has_knight[m] & (knight_t[m] + 300 <= at) & (brand == 1)),
    ):
        kind_index = {1: 0, 2: 1, 3: 2, 4: 3}[r]
        rank = np.where(valid, r, rank)
        card = np.where(valid, number_of[kind_index, m], card)
    rate = np.array([1000, *[TIER_DISCOUNT[k] for k in (1, 2, 3, 4)]])[rank]
    line_rate = rate[line_receipt]
    line_paid = np.where(promo | (line_rate == 1000), paid_pre, (line_full * line_rate + 500) // 1000)
    signed = np.where(rank >= 2, rng.random(total) < 0.95, (rank == 1) & (rng.random(total) < 0.3))
    group = rng.random(total) < 0.01
    purchases = Purchases(
        member=member, at=at, store=store, clerk=clerk, card=card, signed=signed, group=group,
        full=per_receipt(line_full), paid=per_receipt(line_paid),
        line_receipt=line_receipt, line_product=cat.ids[product], line_qty=qty, line_full=line_full,
        line_paid=line_paid, line_promo=promo, created_at=created_at, owner=owner, registered_by=registered_by,
        cards=cards,
    )
    return purchases, ncards
