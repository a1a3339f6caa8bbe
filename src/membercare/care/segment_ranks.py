"""Daily segments, step 3: ranks reduced to a few cut-off rows, then every member classified in one SELECT.

Each ordering (12-month spend, purchase days, average receipt, the RFM figures) is reduced to its cut-off
rows (one narrow sort each, or a histogram for dates and day counts), and every member is compared with
them. See care.segments for the definitions.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

from membercare.core.sql import fetch, lit, pg

from .segment_sql import as_float, days_between, money
from .segment_stats import Windows, top_count


def _positions(order: str, where: str, columns: list[str], positions: set[int]) -> dict[int, tuple]:
    """The rows at 1-based `positions` of care_purchasestats in `order`: one narrow sort, not a rank per member."""
    wanted = sorted(p for p in positions if p >= 1)
    if not wanted:
        return {}
    inner = ", ".join(f"{expr} AS c{i}" for i, expr in enumerate(columns))
    outer = ", ".join(f"c{i}" for i in range(len(columns)))
    rows = fetch(f"""SELECT rn, {outer} FROM (
                        SELECT {inner}, ROW_NUMBER() OVER (ORDER BY {order}) AS rn
                        FROM care_purchasestats WHERE {where}) q
                      WHERE rn IN ({', '.join(str(p) for p in wanted)})""")
    return {row[0]: tuple(row[1:]) for row in rows}


def _smallest(column: str, where: str, positions: list[int]) -> list:
    """The t-th smallest value of `column` for each t in `positions`, from a histogram (few distinct values)."""
    histogram = fetch(f"SELECT {column}, COUNT(*) FROM care_purchasestats WHERE {where} GROUP BY {column} "
                       f"ORDER BY {column}")
    out, seen, i = [], 0, 0
    for t in positions:
        while seen + histogram[i][1] < t:
            seen += histogram[i][1]
            i += 1
        out.append(histogram[i][0])
    return out


def _top(cut: tuple | None, keys: list[tuple[str, str]]) -> str:
    """SQL: the row is at or before the cut-off row `cut` in the order `keys` [(column, 'DESC'|'ASC'), ...]
    (lexicographic, the last key is the member id). None: no row qualifies."""
    if cut is None:
        return "FALSE"
    (column, direction), value = keys[0], cut[0]
    literal = _value_sql(value)
    if len(keys) == 1:
        return f"{column} {'>=' if direction == 'DESC' else '<='} {literal}"
    strict = '>' if direction == 'DESC' else '<'
    return f"({column} {strict} {literal} OR ({column} = {literal} AND {_top(cut[1:], keys[1:])}))"


def _value_sql(value: object) -> str:
    """A literal for a value read back from the database (a date, a float average, an integer)."""
    if isinstance(value, dt.date):
        return lit(value)
    if isinstance(value, str):  # SQLite returns dates as text
        return lit(dt.date.fromisoformat(value))
    if isinstance(value, float):
        return f"CAST('{value!r}' AS double precision)" if pg() else repr(value)
    return str(int(value))


def follow_up_sql(w: Windows, seg: dict) -> str:
    """Seed 002's follow-up class (客户分类管理表) of the member row `s` (care_purchasestats, NULL without a
    purchase day), by turnover (purchase days in the 12 months) and profitability (what they paid over what
    the same goods cost at full price, in the 12 months), with the chain's thresholds (segments.follow_up):

      high turnover  = purchase days >= turnover_days;   high profitability = paid >= full_price_share x full price
      A = high turnover, high profitability     (core members: keep close, weekly)
      B = high turnover, low profitability      (regulars on discount: every two weeks)
      C = low turnover, low profitability       (occasional bargain buyers: monthly)
      D = to develop (迅速开发): low turnover but high profitability, members still new (first purchase less
          than lifecycle.new_days ago) and members without a purchase day in the 12 months.

    Integer arithmetic only (cents and an exact fraction), so both databases agree at the boundary."""
    fu = seg["follow_up"]
    share = Fraction(str(fu["full_price_share"]))
    high_turnover = f"s.days_12m >= {int(fu['turnover_days'])}"
    high_profit = f"s.cents_12m * {share.denominator} >= {share.numerator} * s.full_12m"
    new = f"{days_between(lit(w.day), 's.first_day')} < {int(seg['lifecycle']['new_days'])}"
    return f"""CASE WHEN s.member_id IS NULL OR s.days_12m = 0 OR {new} THEN 'D'
                    WHEN {high_turnover} AND {high_profit} THEN 'A'
                    WHEN {high_turnover} THEN 'B'
                    WHEN {high_profit} THEN 'D'
                    ELSE 'C' END"""


def _marketing_flags(seven: dict) -> tuple[str, str, list]:
    """Seed 004's two low-ticket segments over the responders (care_tmp_marketing, care.marketing), as SQL
    conditions on its row `mk` (NULL for a member who is not a responder), and their parameters:
    low ticket, high frequency = in the top high_freq_share of the responders by marketing revenue, with a
    12-month average receipt below the responders' median and purchase days above their median; low ticket,
    low frequency = in the bottom low_share of the same order, average receipt and purchase days both below
    the medians. Medians: the middle value, or the mean of the middle two (days compared doubled: exact)."""
    n = fetch("SELECT COUNT(*) FROM care_tmp_marketing")[0][0]
    if not n:
        return "FALSE", "FALSE", []
    ticket = f"({as_float('paid')} / NULLIF(receipts, 0))"
    middle = sorted({(n + 1) // 2, (n + 2) // 2})
    at = ", ".join(str(p) for p in middle)
    tickets = [row[0] for row in fetch(f"""SELECT t FROM (SELECT {ticket} AS t, ROW_NUMBER() OVER (ORDER BY
                   {ticket}, member_id) AS rn FROM care_tmp_marketing) q WHERE rn IN ({at})""")]
    days = [row[0] for row in fetch(f"""SELECT days FROM (SELECT days, ROW_NUMBER() OVER (ORDER BY days,
                   member_id) AS rn FROM care_tmp_marketing) q WHERE rn IN ({at})""")]
    median_ticket = float(sum(tickets) / len(tickets))
    twice_median_days = int(sum(days)) * 2 // len(days)
    top = top_count(seven["high_freq_share"], n)
    bottom = n - top_count(seven["low_share"], n)
    mk_ticket = f"({as_float('mk.paid')} / NULLIF(mk.receipts, 0))"
    median = _value_sql(median_ticket)  # a double literal, as the other cut-offs
    high = (f"mk.member_id IS NOT NULL AND mk.rn <= {top} AND {mk_ticket} < {median} "
            f"AND 2 * mk.days > {twice_median_days}")
    low = (f"mk.member_id IS NOT NULL AND mk.rn > {bottom} AND {mk_ticket} < {median} "
           f"AND 2 * mk.days < {twice_median_days}")
    return high, low, []


def cuts_of(w: Windows, seg: dict) -> dict:
    """The cut-off rows of each ranking as of `w` (JSON-ready: dates as ISO text): the population counts, the
    12-month spend order's rows at the A, A+B, high-value and high-loyalty positions, the average receipt's row at
    the high-ticket position and the RFM quintiles' values."""
    abc, seven = seg["abc"], seg["seven"]
    ticket = f"({as_float('cents_t')} / NULLIF(receipts_t, 0))"
    n12, nt, nr = fetch("""SELECT COUNT(*) FILTER (WHERE days_12m > 0), COUNT(*) FILTER (WHERE receipts_t > 0),
                                   COUNT(*) FILTER (WHERE rfm_days > 0) FROM care_purchasestats""")[0]
    # 12-month spend, descending then member id: A, A+B, high value, high loyalty, the bottom share
    k = {"a": top_count(abc["a_share"], n12),
         "ab": top_count(Fraction(str(abc["a_share"])) + Fraction(str(abc["b_share"])), n12),
         "hv": top_count(seven["high_value_share"], n12), "hl": top_count(seven["high_loyalty_share"], n12)}
    quint = [math.ceil(Fraction(j * nr, 5)) for j in range(1, 5)]  # t-th smallest values cut the RFM quintiles
    same_window = w.rfm == w.w12
    sales_at = set(k.values()) | ({n12 - t + 1 for t in quint} if same_window and nr else set())
    sales = _positions("cents_12m DESC, member_id", "days_12m > 0", ["cents_12m", "member_id"], sales_at)
    k_ht = top_count(seven["high_ticket_share"], nt)
    tickets = _positions(f"{ticket} DESC, member_id", "receipts_t > 0", [ticket, "member_id"], {k_ht})
    r_cut = f_cut = m_cut = []
    if nr:
        r_cut = _smallest("rfm_last", "rfm_days > 0", quint)
        f_cut = _smallest("rfm_days", "rfm_days > 0", quint)
        if same_window:
            m_cut = [sales[n12 - t + 1][0] for t in quint]
        else:
            at = _positions("rfm_cents, member_id", "rfm_days > 0", ["rfm_cents"], set(quint))
            m_cut = [at[t][0] for t in quint]

    def plain(value: object) -> object:
        return value.isoformat() if isinstance(value, dt.date) else value

    def row(cut: tuple | None) -> list | None:
        return None if cut is None else [plain(v) for v in cut]

    return {"n12": n12, "nt": nt, "nr": nr,
            "sales": {key: row(sales.get(pos)) for key, pos in k.items()}, "ticket": row(tickets.get(k_ht)),
            "r": [plain(v) for v in r_cut], "f": [plain(v) for v in f_cut], "m": [plain(v) for v in m_cut]}


SALES_KEYS = [("s.cents_12m", "DESC"), ("s.member_id", "ASC")]


def _ticket_keys() -> list[tuple[str, str]]:
    return [(f"({as_float('s.cents_t')} / NULLIF(s.receipts_t, 0))", "DESC"), ("s.member_id", "ASC")]


def _one(cond: str) -> str:
    return f"CASE WHEN {cond} THEN 1 ELSE 0 END"


def moved_sql(old: dict, new: dict) -> str:
    """SQL on a care_purchasestats row `s`: a member whose place against the cut-offs differs between `old` and
    `new` (cuts_of), so whose rank segments may change although their figures did not. FALSE when no cut moved."""
    conds = []
    for key in new["sales"]:
        if old["sales"].get(key) != new["sales"][key]:
            conds.append(f"{_one(_top(old['sales'].get(key), SALES_KEYS))} <> "
                         f"{_one(_top(new['sales'][key], SALES_KEYS))}")
    if old["ticket"] != new["ticket"]:
        conds.append(f"{_one(_top(old['ticket'], _ticket_keys()))} <> {_one(_top(new['ticket'], _ticket_keys()))}")
    for letter, column in (("r", "s.rfm_last"), ("f", "s.rfm_days"), ("m", "s.rfm_cents")):
        for before, now in zip(old[letter], new[letter], strict=True):
            if before != now:
                conds.append(f"{_one(f'{column} > {_value_sql(before)}')} <> {_one(f'{column} > {_value_sql(now)}')}")
    return " OR ".join(f"({c})" for c in conds) or "FALSE"


def comparable(old: dict, new: dict) -> bool:
    """Can the members be re-classified against `old` cut-offs only where they moved? Not when a population
    emptied or filled (the scores of everyone change), or the RFM quintiles are of another length."""
    return all(bool(old[n]) == bool(new[n]) for n in ("n12", "nt", "nr")) and all(
        len(old[x]) == len(new[x]) for x in ("r", "f", "m")) and set(old["sales"]) == set(new["sales"])


def classify(w: Windows, seg: dict, cuts: dict, only: str = "") -> tuple[str, list]:
    """The SELECT of every member's new segments and figures (or of the members listed in the temporary table
    `only`): each is compared with the cut-off rows `cuts` (cuts_of)."""
    life, seven = seg["lifecycle"], seg["seven"]
    nr = cuts["nr"]
    r_cut, f_cut, m_cut = cuts["r"], cuts["f"], cuts["m"]
    ratio = Fraction(str(seven["churn_ratio"]))
    d = lit(w.day)
    since_last = days_between(d, "s.last_day")

    def flag(cond: str) -> str:
        return f"CASE WHEN {cond} THEN TRUE ELSE FALSE END"

    def score(column: str, values: list) -> str:
        if not nr:
            return "0"
        steps = " + ".join(f"CASE WHEN s.{column} > {_value_sql(c)} THEN 1 ELSE 0 END" for c in values)
        return f"CASE WHEN s.rfm_days > 0 THEN 1 + {steps} ELSE 0 END"

    def in_sales(key: str) -> str:
        return f"(s.days_12m > 0 AND {_top(cuts['sales'][key], SALES_KEYS)})"

    low_ticket_high_freq, low_ticket_low_freq, params = _marketing_flags(seven)
    top_ticket = _top(cuts["ticket"], _ticket_keys())
    return f"""
        SELECT c.*,
          CASE WHEN c.rfm_r = 0 THEN 'target' WHEN c.rfm_r + c.rfm_f + c.rfm_m >= 13 THEN 'key'
               WHEN c.rfm_r + c.rfm_f + c.rfm_m >= 10 THEN 'major' ELSE 'potential' END AS pyramid,
          c.follow_up_class AS follow_up
        FROM (
        SELECT m.id AS member_id,
          CASE WHEN s.member_id IS NULL THEN 'prospect'
               WHEN {since_last} >= {int(life['lost_days'])} THEN 'lost'
               WHEN {since_last} >= {int(life['sleeping_days'])} THEN 'sleeping'
               WHEN {since_last} >= {int(life['dormant_days'])} THEN 'dormant'
               WHEN {days_between(d, 's.first_day')} < {int(life['new_days'])} THEN 'new'
               ELSE 'active' END AS lifecycle,
          CASE WHEN s.days_12m IS NULL OR s.days_12m = 0 THEN '' WHEN {in_sales('a')} THEN 'A'
               WHEN {in_sales('ab')} THEN 'B' ELSE 'C' END AS spend_class,
          {score('rfm_last', r_cut) if nr else '0'} AS rfm_r,
          {score('rfm_days', f_cut) if nr else '0'} AS rfm_f,
          {score('rfm_cents', m_cut) if nr else '0'} AS rfm_m,
          {flag(in_sales('hv'))} AS high_value,
          {flag(f"{in_sales('hl')} AND s.median_gap <= {int(seven['high_loyalty_max_gap_days'])}")} AS high_loyalty,
          {flag(f"s.receipts_t > 0 AND {top_ticket}")} AS high_ticket,
          {flag(low_ticket_high_freq)} AS low_ticket_high_freq,
          {flag(low_ticket_low_freq)} AS low_ticket_low_freq,
          {follow_up_sql(w, seg)} AS follow_up_class,
          {flag(f"{since_last} >= {int(seven['sleeping_days'])}")} AS sleeping,
          {flag(f"s.days_base >= {int(seven['churn_min_baseline_days'])} AND "
                f"s.days_recent * {w.baseline_days * ratio.denominator} < "
                f"{ratio.numerator * w.recent_days} * s.days_base")} AS churning,
          s.first_day AS first_purchase_on, s.last_day AS last_purchase_on,
          COALESCE(s.days_12m, 0) AS purchase_days_12m, {money('COALESCE(s.cents_12m, 0)')} AS spend_12m,
          COALESCE(s.receipts_t, 0) AS receipts_6m, {money('COALESCE(s.cents_t, 0)')} AS spend_6m,
          COALESCE(s.days_recent, 0) AS purchase_days_3m, s.median_gap AS median_gap_days,
          {money('COALESCE(s.full_12m, 0)')} AS full_price_12m, {money('COALESCE(s.cents_recent, 0)')} AS spend_3m,
          {money('COALESCE(s.cents_base, 0)')} AS spend_before_3m
        FROM members_member m {f'JOIN {only} q ON q.member_id = m.id' if only else ''}
        LEFT JOIN care_purchasestats s ON s.member_id = m.id
        LEFT JOIN care_tmp_marketing mk ON mk.member_id = m.id) c""", params
