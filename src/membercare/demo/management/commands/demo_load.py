"""`membercare demo_load`: a realistic demo chain with members, purchases and cards."""

from django.core.management.base import BaseCommand

from membercare.analytics.facts import analytics_refresh
from membercare.demo.campaigns import demo_campaigns
from membercare.demo.care import demo_care
from membercare.demo.events import demo_events
from membercare.demo.generator import GenConfig, demo_logins, generate
from membercare.demo.membercentre import print_member_login
from membercare.demo.perks import demo_perks
from membercare.demo.service import demo_service
from membercare.demo.storedvalue import demo_stored_value
from membercare.members.models import Member

from ._common import parse_day, print_logins


class Command(BaseCommand):
    help = "Load deterministic demo data: 1 company, 2 brands, 3 regions, 12 stores, staff, members, purchases."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when members already exist.")
        parser.add_argument("--today", type=parse_day, default=None,
                            help="Pretend today is this date (YYYY-MM-DD): same seed and date give the same data.")

    def handle(self, *args, members, seed, if_empty, today, **options):
        if if_empty and Member.objects.exists():
            self.stdout.write("Members already exist: demo data not loaded.")
            print_logins(self.stdout, self.style, demo_logins())
            print_member_login(self.stdout, self.style)
            return
        verbose = options["verbosity"] > 1
        self.stdout.write(f"Loading demo data: {members} members, seed {seed} ...")
        result = generate(GenConfig(members=members, seed=seed, today=today),
                          log=self.stdout.write if verbose else None)
        result.counts.update(demo_care(today))  # segments and today's care tasks for the demo's "today"
        result.counts.update(demo_campaigns(today))  # coupons: one running (some used, a hold-out), one expired
        result.counts.update(demo_events(today))  # a salon with invitations and answers, a past show, a referral
        result.counts.update(demo_service(today))  # gifts, complaints at different steps, survey answers
        result.counts.update(demo_stored_value(today))  # stored value topped up at the counters in recent weeks
        result.counts.update(demo_perks(today))  # free alterations and the airport fast lane used this period
        result.counts["dashboard_facts"] = sum(analytics_refresh(today).values())  # the nightly job, once
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in result.counts.items())
        self.stdout.write(self.style.SUCCESS(f"Loaded {counts} in {result.timings['total']:.1f}s."))
        print_logins(self.stdout, self.style, result.logins)
        print_member_login(self.stdout, self.style)
