"""Benchmark: counting audiences (audiences.selectors.members_queryset(...).count()) on the 1M-member data set.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_bench
    export $(.venv/bin/python bench/common.py)
    flock /tmp/bench.lock .venv/bin/python bench/bench_audience.py [--runs 3] [--explain]

Read only: the session is set to read-only transactions before anything runs (the benchmark database is
shared). Each definition is counted --runs times (the best and the median are printed) beside the reference, a
plain `SELECT count(*) FROM members_member`, timed the same way in the same run. Target: ≤ 2 s per count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, table  # noqa: E402

TARGET_S = 2.0


def definitions(second_level: str, series_id: int, region_id: int, tag_ids: list[int]) -> dict[str, dict]:
    def d(include, exclude=(), op="and"):
        return {"include": {"op": op, "items": list(include)}, "exclude": {"op": "or", "items": list(exclude)}}

    women = {"type": "gender", "params": {"values": ["F"]}}
    return {
        "women": d([women]),
        "issue 20: women, level ≥ 2nd, birthday next month, not contacted 30 d": d([
            women, {"type": "level", "params": {"op": "at_least", "level": second_level}},
            {"type": "birthday_month", "params": {"months": ["next"]}},
            {"type": "not_contacted", "params": {"days": 30}}]),
        "series bought in 365 d, in a region, SMS consent": d([
            {"type": "series", "params": {"values": [str(series_id)], "window": 365}},
            {"type": "region", "params": {"values": [str(region_id)]}},
            {"type": "consent", "params": {"channel": "sms", "given": "yes"}}]),
        "promotion: spend ≥ 2,000 in 365 d or 3+ purchase days, minus high ticket / low-low": d(
            [{"op": "or", "items": [{"type": "spend", "params": {"window": 365, "min": "2000"}},
                                    {"type": "purchase_days", "params": {"window": 365, "min": 3}}]}],
            [{"type": "segment_flag", "params": {"values": ["high_ticket", "low_ticket_low_freq"]}}]),
        "age 25–45, last purchase 90–365 d ago, any of two tags": d([
            {"type": "age", "params": {"min": 25, "max": 45}},
            {"type": "last_purchase", "params": {"min": 90, "max": 365}},
            {"type": "tags", "params": {"values": [str(t) for t in tag_ids[:2]]}}]),
        "everyone but exact level 1 or tagged (exclude only)": d([], [
            {"type": "level", "params": {"op": "exactly", "level": second_level}},
            {"type": "tags", "params": {"values": [str(t) for t in tag_ids[:1]]}}]),
    }


def timed(fn, runs: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from membercare.audiences.conditions import levels
    from membercare.audiences.selectors import count_members, members_queryset
    from membercare.members.models import Tag
    from membercare.org.models import Region
    from membercare.sales.models import Series

    with connection.cursor() as cur:
        cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    second = levels()[1][0]
    defs = definitions(second, Series.objects.order_by("pk").values_list("pk", flat=True)[0],
                       Region.objects.order_by("pk").values_list("pk", flat=True)[0],
                       list(Tag.objects.order_by("pk").values_list("pk", flat=True)[:2]))

    def reference():
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM members_member")
            return cur.fetchone()[0]

    ref_best, ref_med, ref_n = timed(reference, args.runs)
    rows = [["reference: SELECT count(*) FROM members_member", ref_n, f"{ref_best:.2f}", f"{ref_med:.2f}", "1.0",
             ""]]
    for label, definition in defs.items():
        qs = members_queryset(definition)
        best, med, n = timed(lambda qs=qs: count_members(qs), args.runs)
        rows.append([label, n, f"{best:.2f}", f"{med:.2f}", f"{med / ref_med:.1f}" if ref_med else "-",
                     "ok" if med <= TARGET_S else "SLOW"])
        if args.explain:
            print(label)
            print(qs.values("pk").explain(analyze=True))
    print(table(["definition", "members", "best s", "median s", "× reference", f"≤ {TARGET_S:.0f} s"], rows))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
