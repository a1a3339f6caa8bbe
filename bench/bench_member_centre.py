"""Benchmark: the member centre's pages with 1,000,000 members (issue 22: every member page <= 300 ms server time).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_bench .venv/bin/python bench/bench_member_centre.py

On the benchmark database (`bench_generate`, 1M members / 10M receipts; `membercare migrate` first), takes the
--members members with the most receipts (the longest histories: the heaviest cards), signs each in (a member
session, as the SMS sign-in would), and times the whole request through Django's test client (middleware,
session lookup, view, template) for each member page, --repeat times per member; p50 / p95 against the target
and as a ratio to the sign-in page (no member data: the pages' fixed cost, measured in the same run). Writes only
the members' sessions (ended at the end).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, summary_ms, table  # noqa: E402

TARGET_MS = 300.0
PAGES = [("card", "/m/card/"), ("card code (refresh)", "/m/card/code/"), ("details and messages", "/m/me/"),
         ("feedback", "/m/feedback/"), ("my data", "/m/data/")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from membercare.membercentre.models import MemberSession
    from membercare.membercentre.services import session_end, session_start
    from membercare.members.models import Member

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    total = Member.objects.count()
    with connection.cursor() as cur:  # the heaviest histories: most receipts (from the covering index)
        cur.execute("SELECT member_id FROM sales_receipt WHERE member_id IS NOT NULL GROUP BY member_id "
                    "ORDER BY count(*) DESC LIMIT %s", [args.members])
        ids = [r[0] for r in cur.fetchall()]
    members = list(Member.objects.filter(pk__in=ids))
    keys = [session_start(member=m) for m in members]
    try:
        anonymous = Client()
        anonymous.get("/m/")
        reference = []
        for _ in range(args.repeat * len(members)):
            start = time.perf_counter()
            assert anonymous.get("/m/").status_code == 200
            reference.append(time.perf_counter() - start)
        ref = summary_ms(reference)
        rows = []
        for label, url in PAGES:
            times = []
            for key in keys:
                client = Client()
                client.cookies["mc_member"] = key
                client.cookies["mc_member"]["path"] = "/m/"
                assert client.get(url).status_code == 200, url  # warm
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    response = client.get(url)
                    times.append(time.perf_counter() - start)
                    assert response.status_code == 200, (url, response.status_code)
            s = summary_ms(times)
            rows.append([label, f"{s['p50']:.1f}", f"{s['p95']:.1f}", f"{s['max']:.1f}",
                         f"{s['p50'] / ref['p50']:.1f}", "ok" if s["p95"] <= TARGET_MS else "OVER"])
    finally:
        for key in keys:
            session_end(key)
        MemberSession.objects.filter(member_id__in=ids).delete()
    print(f"{connection.vendor}: {total:,} members; {len(members)} members with the most receipts, "
          f"{args.repeat} requests each per page; the sign-in page p50 {ref['p50']:.1f} ms")
    print(table(["page", "p50 ms", "p95 ms", "max ms", "x sign-in page", f"p95 <= {TARGET_MS:.0f} ms"], rows))


if __name__ == "__main__":
    main()
