"""Many stores using the member's last free alteration at the same moment (PostgreSQL: real row locks, real
threads): exactly one succeeds, the others are refused, and the uses never pass the quota."""

import datetime as dt

import pytest
from django.db import connection

from membercare.checkout.pipeline import CheckoutError, LineIn, checkout_post
from membercare.loyalty.models import Card, PerkUse
from membercare.loyalty.perks import perk_use
from membercare.sales.models import Receipt

from .test_concurrency import TZ, _postgres_only, run_together

pytestmark = [pytest.mark.django_db(transaction=True)]
THREADS = 8


def _quota_invariant() -> list:
    """No member, perk and period with more uses (not reversed) than the elite card's quota of 2."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT member_id, perk_code, period_key, COUNT(*) FROM {PerkUse._meta.db_table} "
                    "WHERE NOT reversed GROUP BY member_id, perk_code, period_key HAVING COUNT(*) > 2")
        return cur.fetchall()


def test_the_last_use_is_taken_once_by_many_stores_at_once(chain, member):
    _postgres_only()
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SUIT", 1)],
                  sold_at=dt.datetime(2026, 2, 1, 12, tzinfo=TZ))  # elite: 2 free alterations a season
    card = Card.objects.get(member=member)
    when = dt.datetime(2026, 5, 10, 12, tzinfo=TZ)
    perk_use(member=member, perk_code="alteration", store=chain.shop, clerk=chain.clerk, at=when)  # one left
    stores = [chain.shop, chain.shop2]

    def standalone(i):
        return lambda: perk_use(member=member, perk_code="alteration", store=stores[i % 2], clerk=None,
                                at=when + dt.timedelta(minutes=i))

    def on_a_sale(i):
        return lambda: checkout_post(store=stores[i % 2], clerk=chain.clerk, card_number=card.number,
                                     lines=[LineIn("BELT", 1)], perks=["alteration"],
                                     sold_at=when + dt.timedelta(minutes=i))

    results = run_together([(standalone if i % 2 else on_a_sale)(i) for i in range(THREADS)])
    won = [r for r in results if isinstance(r, PerkUse | Receipt)]
    refused = [r for r in results if isinstance(r, CheckoutError)]
    assert len(won) == 1, results
    assert len(refused) == THREADS - 1 and {r.error_code for r in refused} == {"perk_quota_used"}, results
    assert PerkUse.objects.filter(member=member, period_key="2026-Q2", reversed=False).count() == 2
    assert _quota_invariant() == []
    # a refused sale wrote nothing: the only receipts are the elite purchase and, maybe, the winner's
    assert Receipt.objects.count() == 1 + sum(isinstance(r, Receipt) for r in won)
