"""`membercare bench_generate`: the benchmark data set (e.g. 1M members, 10M receipts) in the app's tables."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from membercare.demo.generator import GenConfig, generate

from ._common import parse_day, print_logins


class Command(BaseCommand):
    help = ("Generate benchmark data with the demo generator: COPY on PostgreSQL (secondary indexes dropped "
            "and rebuilt around the load, then ANALYZE), bulk executemany on SQLite.")

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=1_000_000)
        parser.add_argument("--receipts", type=int, default=10_000_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--stores", type=int, default=None,
                            help="Number of stores (default: 12, plus one per 5,000 members beyond 60,000).")
        parser.add_argument("--today", type=parse_day, default=None)
        parser.add_argument("--keep-indexes", action="store_true",
                            help="PostgreSQL: write with the indexes in place (slower; for appending to big tables).")
        parser.add_argument("--chunk-rows", type=int, default=500_000)

    def handle(self, *args, members, receipts, seed, stores, today, keep_indexes, chunk_rows, **options):
        if members <= 0 or receipts < 0:
            raise CommandError("--members must be positive and --receipts not negative.")
        stores = stores or max(12, members // 5000)
        self.stdout.write(f"Generating {members:,} members, {receipts:,} receipts, {stores} stores "
                          f"(seed {seed}) on {connection.vendor} ...")
        cfg = GenConfig(members=members, receipts=receipts, seed=seed, stores=stores, today=today,
                        drop_indexes=not keep_indexes, chunk_rows=chunk_rows)
        result = generate(cfg, log=self.stdout.write)
        self.stdout.write("")
        for name, count in result.counts.items():
            self.stdout.write(f"  {name:<14} {count:>12,}")
        self.stdout.write(self.style.SUCCESS(f"Done in {result.timings['total']:.1f}s."))
        print_logins(self.stdout, self.style, result.logins)
