"""Benchmark: the counter search (members.selectors.member_search) on a large member archive.

    createdb -h 127.0.0.1 -U postgres membercare_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_bench
    .venv/bin/membercare migrate
    .venv/bin/membercare bench_generate --members 1000000 --receipts 10000000
    .venv/bin/python bench/bench_search.py [--kinds card,phone,last4,surname,given2,fullname,tag] [--queries 200]

For each kind of query, draws --queries real values from the data (deterministic with --seed),
times member_search(query) with its result evaluated, and prints p50 / p95 / max in milliseconds
and whether p95 is under the target (50 ms). --explain prints EXPLAIN ANALYZE of the SQL behind the
slowest query of every kind that misses the target.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, summary_ms, table  # noqa: E402

KINDS = {
    "card": "card number",
    "phone": "full mobile phone",
    "last4": "last 4 digits of the phone",
    "surname": "1-character surname",
    "given2": "2-character given name",
    "fullname": "full 3-character name",
    "tag": "tag",
}
EXPECTED_KIND = {"card": "card", "phone": "phone", "last4": "last4", "surname": "name", "given2": "name",
                 "fullname": "name", "tag": "tag"}
TARGET_MS = 50.0


def draw_queries(kind: str, count: int, rng: random.Random) -> list[str]:
    from django.db import connection

    from membercare.loyalty.models import Card
    from membercare.members.models import Member, Tag

    def sample_ids(model, wanted: int) -> list[int]:
        with connection.cursor() as cur:
            cur.execute(f"SELECT MIN(id), MAX(id) FROM {model._meta.db_table}")
            low, high = cur.fetchone()
        if low is None:
            raise SystemExit(f"{model._meta.db_table} is empty: run bench_generate first")
        return [rng.randint(low, high) for _ in range(wanted)]

    if kind == "tag":
        names = sorted(Tag.objects.filter(members__isnull=False).distinct().values_list("name", flat=True))
        return [rng.choice(names) for _ in range(count)]
    if kind == "card":
        numbers = dict(Card.objects.filter(id__in=sample_ids(Card, count * 2)).values_list("id", "number"))
        return [numbers[i] for i in sorted(numbers)][:count]
    rows = dict(Member.objects.filter(id__in=sample_ids(Member, count * 4)).values_list("id", "name"))
    phones = dict(Member.objects.filter(id__in=list(rows)).values_list("id", "phone"))
    out = []
    for member_id in sorted(rows):
        name = rows[member_id]
        if kind == "phone":
            out.append(phones[member_id])
        elif kind == "last4":
            out.append(phones[member_id][-4:])
        elif kind == "surname" and len(name) == 3:
            out.append(name[0])
        elif kind == "given2" and len(name) == 3:
            out.append(name[1:])
        elif kind == "fullname" and len(name) == 3:
            out.append(name)
    rng.shuffle(out)
    return out[:count]


def run_kind(kind: str, queries: list[str], warmup: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from membercare.members.selectors import member_search

    for q in queries[:warmup]:
        member_search(q)
    timings, found, wrong_kind, slowest = [], [], 0, (0.0, "")
    for q in queries:
        t0 = time.perf_counter()
        result = member_search(q)
        _touch = [(m.pk, m.home_store.name) for m in result.members]  # force full evaluation
        elapsed = time.perf_counter() - t0
        timings.append(elapsed)
        found.append(len(result.members))
        wrong_kind += result.kind != EXPECTED_KIND[kind]
        if elapsed > slowest[0]:
            slowest = (elapsed, q)
    stats = summary_ms(timings)
    with CaptureQueriesContext(connection) as captured:
        member_search(slowest[1])
    stats.update(
        kind=kind, found_avg=sum(found) / len(found), empty=sum(f == 0 for f in found), wrong_kind=wrong_kind,
        slowest_query=slowest[1], slowest_sql=[q["sql"] for q in captured.captured_queries],
        ok=stats["p95"] < TARGET_MS,
    )
    return stats


def explain(sql_list: list[str]) -> str:
    from django.db import connection

    out = []
    with connection.cursor() as cur:
        for sql in sql_list:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            out.append(sql + "\n" + "\n".join("    " + r[0] for r in cur.fetchall()))
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma separated, from: {', '.join(KINDS)}")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--warmup", type=int, default=20, help="untimed queries first, per kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest query of a missing kind")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")

    setup_django()
    from django.db import connection

    from membercare.members.models import Member

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, "
          f"{Member.objects.count():,} members; {args.queries} queries per kind, seed {args.seed}")
    results = []
    for kind in kinds:
        queries = draw_queries(kind, args.queries, random.Random(f"{args.seed}-{kind}"))
        results.append(run_kind(kind, queries, args.warmup))
    rows = [[r["kind"], KINDS[r["kind"]], r["n"], f"{r['p50']:.1f}", f"{r['p95']:.1f}", f"{r['max']:.1f}",
             f"{r['found_avg']:.1f}", r["wrong_kind"], "yes" if r["ok"] else "NO"] for r in results]
    print(table(["kind", "query", "n", "p50 ms", "p95 ms", "max ms", "found", "wrong kind", "p95<50ms"], rows))
    if args.explain and connection.vendor == "postgresql":
        for r in results:
            if not r["ok"]:
                print(f"\n=== {r['kind']}: slowest query {r['slowest_query']!r}\n{explain(r['slowest_sql'])}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
