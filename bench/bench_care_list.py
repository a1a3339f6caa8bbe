"""Benchmark: the clerk's care list (/care/) with 1,000 open tasks (issue 18: server time <= 300 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_carebench \
        .venv/bin/python bench/bench_care_list.py [--tasks 1000] [--repeat 20]

On an empty database of its own (it creates it: `membercare migrate`), one store and one clerk get `--tasks`
open tasks over about 0.8 x as many members (a fifth of them with two reasons today, a tenth overdue; 60 % of
the tasks are SMS notices of one campaign, the rest calls of five kinds), cards and 12-month spending for the
call order. Times the whole request through Django's test client (middleware, view, template): the first page,
a filtered page (one kind), the last page; p50 / p95 against the target, and as a ratio to the same page with
no task (the page's fixed cost, measured in the same run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django, summary_ms, table  # noqa: E402

TARGET_MS = 300.0
RULES = ["dormant_review", "new_member_callback", "birthday_greeting", "a_monthly_call", "sleeping_call"]


def populate(n_tasks: int):
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from membercare.care.models import CareChannel, MemberSegments, Task
    from membercare.loyalty.models import Card, CardStatus
    from membercare.members.models import Member
    from membercare.org.models import Brand, Company, Region, Role, Staff, Store

    today = timezone.localdate()
    company = Company.objects.create(name="基准公司")
    brand = Brand.objects.create(company=company, code="BENCH", name="基准品牌")
    region = Region.objects.create(company=company, code="BR", name="基准大区")
    store = Store.objects.create(code="BN01", name="基准门店", brand=brand, region=region)
    idle = Staff.objects.create_user(username="bench_idle", password="x", role=Role.CLERK)
    idle.stores.add(store)
    clerk = Staff.objects.create_user(username="bench_clerk", password="x", role=Role.CLERK)
    clerk.stores.add(store)
    n_members = max(1, int(n_tasks / 1.25))
    now = timezone.now()
    members = Member.objects.bulk_create([
        Member(member_no=f"B{i:08d}", name=f"会员{i}", phone=f"137{i:08d}", phone_last4=f"{i:08d}"[-4:],
               gender="F" if i % 2 else "M", birthday=dt.date(1980 + i % 30, 1 + i % 12, 1 + i % 28),
               home_store=store, owner=clerk, created_at=now) for i in range(n_members)], batch_size=1000)
    kinds = ["knight", "diamond", "elite", "accumulation"]
    Card.objects.bulk_create([Card(number=f"BC{i:08d}", member=m, kind=kinds[i % 4], brand=brand,
                                   status=CardStatus.ACTIVE, issued_at=now) for i, m in enumerate(members)],
                             batch_size=1000)
    MemberSegments.objects.bulk_create([MemberSegments(member=m, computed_on=today,
                                                       spend_12m=Decimal(1000 + (i * 37) % 20000))
                                        for i, m in enumerate(members)], batch_size=1000)
    tasks = []
    for i in range(n_tasks):
        member = members[i % n_members]
        notice = i % 10 < 6
        tasks.append(Task(rule="campaign_notice" if notice else RULES[i % len(RULES)], key=f"b{i}", member=member,
                          store=store, assignee=clerk, created_on=today,
                          due_on=today - dt.timedelta(days=2) if i % 10 == 9 else today,
                          priority=40 if notice else 10 + (i % 5) * 5,
                          channel=CareChannel.SMS if notice else CareChannel.PHONE, context={}))
    Task.objects.bulk_create(tasks, batch_size=1000)
    return clerk, idle


def timed(client, url: str, repeat: int) -> list[float]:
    client.get(url)  # warm
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from membercare.care.models import Task

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    if Task.objects.exists():
        sys.exit("bench_care_list needs an empty database of its own (set DATABASE_URL)")
    clerk, idle = populate(args.tasks)
    client, empty = Client(), Client()
    client.force_login(clerk)
    empty.force_login(idle)
    members = Task.objects.filter(assignee=clerk).values("member_id").distinct().count()
    from membercare.care.selectors import BOARD_PAGE

    last = -(-members // BOARD_PAGE)
    reference = summary_ms(timed(empty, "/care/", args.repeat))
    rows = []
    for label, url in (("first page", "/care/"), ("one kind (calls)", "/care/?rule=new_member_callback"),
                       ("SMS notices", "/care/?rule=campaign_notice"), (f"last page ({last})", f"/care/?page={last}")):
        s = summary_ms(timed(client, url, args.repeat))
        rows.append([label, f"{s['p50']:.0f}", f"{s['p95']:.0f}", f"{s['p50'] / reference['p50']:.2f}",
                     "ok" if s["p95"] <= TARGET_MS else "OVER"])
    print(f"{connection.vendor}: {args.tasks} open tasks over {members} members; the page with no task "
          f"p50 {reference['p50']:.0f} ms")
    print(table(["/care/", "p50 ms", "p95 ms", "x empty page", f"<= {TARGET_MS:.0f} ms"], rows))


if __name__ == "__main__":
    main()
