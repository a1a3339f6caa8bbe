"""Benchmark: exporting every member of the chain to .xlsx as the background job does (issue 17: 1,000,000
members in ≤ 2 minutes without holding a web worker).

    createdb -h 127.0.0.1 -U postgres membercare_exportbench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/membercare_exportbench $(.venv/bin/python bench/common.py)
    .venv/bin/membercare migrate && .venv/bin/membercare bench_generate --members 1000000 --receipts 1000000
    .venv/bin/python bench/bench_export.py

Runs members.exports.members_export_job for the VIP specialist (every member, chain-wide), as .xlsx and as CSV,
exactly as the worker does — keyset chunks, the loyalty columns (card level, points, spend), the .xlsx written to a
temporary file and then to the file storage — and reports its time against a reference measured in the same
run: reading the same members' rows with one plain query (what no export can beat).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django  # noqa: E402

TARGET_S = 120.0


def main() -> None:
    setup_django()
    from django.core.files.storage import default_storage
    from django.db import connection

    from membercare.core.models import Job
    from membercare.members.exports import members_export_job
    from membercare.members.models import Member
    from membercare.org.models import Role, Staff

    user = Staff.objects.filter(role=Role.SPECIALIST).first()
    members = Member.objects.count()
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM members_member")
        while cur.fetchmany(10_000):
            pass
    reference = time.perf_counter() - started

    for file_format in ("xlsx", "csv"):
        job = Job.objects.create(kind="members_export", function="bench", params={}, created_by=user)

        class Progress:
            job_id = job.pk

            def __call__(self, done, total=None, message=None):
                pass

        started = time.perf_counter()
        result = members_export_job(Progress(), user_id=user.pk, store_id=None, tag="", query="",
                                    file_format=file_format)
        seconds = time.perf_counter() - started
        size = default_storage.size(result["path"])
        default_storage.delete(result["path"])
        job.delete()
        print(f"{connection.vendor}: {members:,} members; {file_format} export {result['rows']:,} rows in "
              f"{seconds:.1f} s ({size / 1e6:.0f} MB), {'ok' if seconds <= TARGET_S else 'OVER'} against "
              f"{TARGET_S:.0f} s; reading the same members' table alone {reference:.1f} s "
              f"({seconds / reference:.1f}x)", flush=True)


if __name__ == "__main__":
    main()
