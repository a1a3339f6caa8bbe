"""bench_generate at a small size, on the test database (SQLite, or PostgreSQL with COPY)."""

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from membercare.core.idnumber import normalize_id_number
from membercare.core.sequences import last_number
from membercare.demo import loader
from membercare.demo.generator import id_numbers, make_phones
from membercare.loyalty.models import Card
from membercare.members.models import Member, MemberChange
from membercare.members.selectors import member_search
from membercare.members.services import name_grams
from membercare.sales.models import Receipt, ReceiptLine


def _indexes() -> list[tuple[str, str]]:
    with connection.cursor() as cur:
        cur.execute("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                    "ORDER BY tablename, indexname")
        return cur.fetchall()


def _foreign_keys() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated")
        return cur.fetchone()[0]


@pytest.mark.django_db
def test_bench_generate_small():
    postgres = connection.vendor == "postgresql"
    if postgres:
        before = (_indexes(), _foreign_keys())
    out = io.StringIO()
    call_command("bench_generate", members=2000, receipts=10_000, seed=3, stdout=out)
    assert "Done in" in out.getvalue()
    assert Member.objects.count() == 2000
    assert MemberChange.objects.count() == 2000
    assert Receipt.objects.count() == 10_000
    lines = ReceiptLine.objects.count()
    assert 11_000 <= lines <= 14_000
    assert last_number("receipt") == 10_000
    assert last_number("member") == 2000
    if postgres:  # every index and foreign key is back, and the identity sequences continue
        assert (_indexes(), _foreign_keys()) == before
        created = Receipt.objects.create(number="X1", store_id=Receipt.objects.first().store_id,
                                         sold_at=Receipt.objects.first().sold_at, total_full_price=1,
                                         total_paid=1)
        assert created.pk > Receipt.objects.exclude(pk=created.pk).order_by("-pk").first().pk

    member = Member.objects.order_by("?").first()
    assert member.phone_last4 == member.phone[-4:] and member.name_grams == name_grams(member.name)
    # the counter search finds generated members by every key
    assert member in member_search(member.phone).members
    assert member in member_search(member.name).members
    assert member in member_search(member.phone_last4, limit=10_000).members
    card = Card.objects.filter(member__isnull=False).first()
    result = member_search(card.number)
    assert result.kind == "card" and result.members == [card.member]


def test_copy_text_formats_like_postgres_expects():
    cols = [
        loader.ints([1, 22]), loader.money([5, -12345]), loader.code([7, 0], prefix="R", width=4),
        loader.code([42, 0], width=3, blank_zero=True), loader.dates([0, 19000]), loader.stamps([0, 1700000000]),
        loader.text(["王\t小明", "a\\b"]), loader.bools([True, False]),
        loader.ints([5, 6], null=np.array([False, True])), loader.const(None), loader.const("live"),
    ]
    assert loader.copy_text(cols, 2).decode() == (
        "1\t0.05\tR0007\t042\t1970-01-01\t1970-01-01 08:00:00+08\t王\\t小明\tt\t5\t\\N\tlive\n"
        "22\t-123.45\tR0000\t\t2022-01-08\t2023-11-15 06:13:20+08\ta\\\\b\tf\t\\N\t\\N\tlive\n"
    )


def test_phones_unique_and_ids_valid():
    rng = np.random.default_rng(1)
    taken = {"13800000000"}
    phones = make_phones(rng, 5000, taken)
    assert len(set(phones.tolist())) == 5000
    assert all(1_30_0000_0000 <= p < 2_00_0000_0000 for p in phones.tolist())
    ids = id_numbers(rng, np.array([310101] * 50), np.arange(50) * 300, np.arange(50) % 2 == 1)
    assert all(normalize_id_number(i) == i for i in ids)
    assert all(int(i[16]) % 2 == k % 2 for k, i in enumerate(ids))  # odd sequence digit = male


@pytest.mark.django_db
def test_generated_points_balances_match_the_ledger_and_the_history():
    """Every account balance is the sum of its open lots, lots never expired on the generation day, and a
    member's balance is 1 point per whole yuan paid with a card on receipts whose points are still valid."""
    import datetime as dt
    from decimal import Decimal

    from django.db.models import Sum

    from membercare.loyalty.models import LoyaltyAccount, PointsEntry
    from membercare.loyalty.programme import programme_at

    call_command("bench_generate", members=1500, receipts=6000, seed=5, stdout=io.StringIO())
    accounts = dict(LoyaltyAccount.objects.values_list("member_id", "points"))
    assert accounts and all(points > 0 for points in accounts.values())
    ledger = dict(PointsEntry.objects.values("member_id").annotate(s=Sum("points")).values_list("member_id", "s"))
    lots = dict(PointsEntry.objects.values("member_id").annotate(s=Sum("remaining"))
                .values_list("member_id", "s"))
    assert ledger == accounts == lots
    today = dt.date.today()
    assert not PointsEntry.objects.filter(expires_on__lt=today - dt.timedelta(days=1)).exists()

    programme = programme_at(today)
    member_id = max(accounts, key=accounts.get)  # the biggest balance: recompute it from the receipts
    expected = 0
    for receipt in Receipt.objects.filter(member_id=member_id).exclude(card_number=""):
        earned_on = receipt.sold_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
        expires = programme.points_expire_on(earned_on)
        if expires is None or expires >= today:
            expected += int(receipt.total_paid * programme.points_per_yuan // Decimal(1))
    assert accounts[member_id] == expected
