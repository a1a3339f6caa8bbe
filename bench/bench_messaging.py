"""Benchmark: a bulk send to 100,000 members — render and enqueue, then deliver to the local outbox.

    flock /tmp/bench.lock .venv/bin/python bench/bench_messaging.py      # DB membercare_bench (1M members)

Picks whole stores until the audience reaches --members, schedules a holiday greeting (SMS) to them, times
the preview (counts by exclusion reason), the enqueueing (render every message, check the content rules,
consent, opt-outs and the cap, insert) and the delivery worker writing to an outbox file in a temporary
directory (messages/s). Deletes the bulk send and its messages at the end. Targets (issue 5): render and
enqueue 100,000 in < 60 s; deliver ≥ 1,000 messages/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time

from common import setup_django, table

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/membercare_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="messages per delivery batch")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.db
    outdir = tempfile.mkdtemp(prefix="membercare-outbox-")
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Count
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    settings.MESSAGING_BACKENDS = {**settings.MESSAGING_BACKENDS, "sms": {
        "class": "membercare.messaging.backends.outbox.OutboxBackend", "path": f"{outdir}/sms.jsonl"}}
    from membercare.members.models import Member
    from membercare.messaging.backends import reset_backends
    from membercare.messaging.bulk import bulk_enqueue, bulk_preview, bulk_progress, bulk_schedule
    from membercare.messaging.delivery import deliver_all
    from membercare.messaging.models import MessageTemplate
    from membercare.org.models import Role, Staff

    reset_backends()
    store_ids, total = [], 0
    for store_id, n in (Member.objects.values("home_store_id").annotate(n=Count("pk")).order_by("home_store_id")
                        .values_list("home_store_id", "n")):
        store_ids.append(store_id)
        total += n
        if total >= args.members:
            break
    specialist, _c = Staff.objects.get_or_create(username="bench_specialist", defaults={"role": Role.SPECIALIST})
    template = MessageTemplate.objects.create(
        name="bench 冬至问候", category="holiday", channel="sms", updated_at=timezone.now(),
        body="{title}，冬至到了，记得吃饺子，注意保暖。祝您和家人平安喜乐！{store} {clerk}")
    at = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    rows = []
    try:
        t0 = time.perf_counter()
        preview = bulk_preview(template=template, audience={"store_ids": store_ids}, at=at)
        t_preview = time.perf_counter() - t0
        bulk = bulk_schedule(name="bench", template=template, audience={"store_ids": store_ids}, scheduled_at=at,
                             by=specialist)
        t0 = time.perf_counter()
        queued = bulk_enqueue(bulk)
        t_enqueue = time.perf_counter() - t0
        t0 = time.perf_counter()
        counts = deliver_all(limit=args.batch, now=at + dt.timedelta(days=7))  # every preferred time has come
        t_deliver = time.perf_counter() - t0
        progress = bulk_progress(bulk)
        rows = [
            ["audience (members)", f"{preview['total']:,}", f"{t_preview:.1f} s", "preview: counts by reason"],
            ["render + enqueue", f"{queued:,} queued", f"{t_enqueue:.1f} s",
             f"{preview['total'] / t_enqueue:,.0f} members/s (target: 100,000 in < 60 s)"],
            ["deliver to outbox", f"{counts['sent']:,} sent", f"{t_deliver:.1f} s",
             f"{counts['sent'] / t_deliver:,.0f} messages/s (target ≥ 1,000/s)"],
        ]
        print(table(["step", "count", "time", "rate"], rows))
        print("excluded:", preview["excluded"], "| statuses:", progress["by_status"])
    finally:
        from membercare.messaging.models import BulkSend

        BulkSend.objects.filter(template=template).delete()
        template.delete()


if __name__ == "__main__":
    main()
