"""Gift cards on the dashboard (issue 21): sold, spent and outstanding for the period, scoped per store like the
stored-value tiles (where the money moved), and the outstanding value the same as the stored-value books' gift-card
total for the same day and stores; the right answers worked out by hand."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.urls import reverse

from membercare.core.crypto import decrypt
from membercare.sales.models import Receipt
from membercare.storedvalue.giftcard_batches import batch_create, gift_cards_sell
from membercare.storedvalue.giftcard_spend import GiftSpend, gift_card_void, spend_commit
from membercare.storedvalue.giftcards import code_hash, find_card
from membercare.storedvalue.models import GiftCard

from .conftest import TODAY, at
from .test_consistency import _figures, _html, _tiles

D = Decimal
KEYS = ("gc_sold", "gc_spent", "gc_outstanding")


def spend(w, code: str, amount: str, number: str, store, when) -> None:
    """A receipt at `store` paid partly with the card (what the sale pipeline does inside its transaction)."""
    receipt = Receipt.objects.create(number=number, store=store, member=w.m1, sold_at=when, clerk=w.clerk,
                                     total_full_price=D("1000.00"), total_paid=D("1000.00"))
    card = find_card(code, store)
    with transaction.atomic():
        spend_commit(spends=[GiftSpend(card.pk, card.serial, D(amount))], receipt=receipt, member=w.m1,
                     store=store, clerk=w.clerk, on=when.date())


def test_gift_card_tiles_per_store_and_chain_agree_with_the_books(client, world):
    w = world
    batch = batch_create(by=w.specialist, name="三月卡", face_value=D("500.00"), count=4, valid_days=1095,
                         at=at(dt.date(2026, 3, 1)))
    c1, c2, c3, c4 = (decrypt(c.code_sealed) for c in GiftCard.objects.filter(batch=batch).order_by("serial"))
    gift_cards_sell(codes=[c1], method="cash", store=w.a, by=w.clerk, at=at(dt.date(2026, 3, 10)))  # before
    gift_cards_sell(codes=[c2], method="cash", store=w.b, by=w.clerk_b, at=at(TODAY, 8))
    gift_cards_sell(codes=[c3], method="cash", store=w.a, by=w.clerk, at=at(TODAY, 8))
    spend(w, c1, "120.00", "g1", w.a, at(TODAY, 9))
    spend(w, c2, "80.00", "g2", w.a, at(TODAY, 9, 30))  # sold at B, spent at A
    spend(w, c1, "30.00", "g0", w.a, at(dt.date(2026, 3, 12)))  # before the period
    gift_card_void(card=GiftCard.objects.get(code_hash=code_hash(c4)), by=w.specialist, reason="遗失")
    today = {"period": "custom", "start": TODAY.isoformat(), "end": TODAY.isoformat()}
    books_day = {"day": TODAY.isoformat()}
    # A: sold 500 (c3) and spent 200 today; outstanding = 1000 sold at A less 230 spent at A
    a = {"gc_sold": "¥500.00", "gc_spent": "¥200.00", "gc_outstanding": "¥770.00"}
    b = {"gc_sold": "¥500.00", "gc_spent": "¥0.00", "gc_outstanding": "¥500.00"}
    chain = {"gc_sold": "¥1,000.00", "gc_spent": "¥200.00", "gc_outstanding": "¥1,270.00"}  # 1500 − 230

    client.force_login(w.manager)  # a manager: the stores they work at
    tiles = _tiles(_html(client.get(reverse("dashboard"), today)))
    assert {k: tiles[k] for k in KEYS} == a
    books = _figures(_html(client.get(reverse("stored_value_finance"), books_day)))
    assert books["gift_liability"] == a["gc_outstanding"]

    client.force_login(w.specialist)
    tiles = _tiles(_html(client.get(reverse("dashboard"), today)))
    assert {k: tiles[k] for k in KEYS} == chain
    books = _figures(_html(client.get(reverse("stored_value_finance"), books_day)))
    assert books["gift_liability"] == chain["gc_outstanding"]
    tiles = _tiles(_html(client.get(reverse("dashboard"), {**today, "store": w.b.pk})))
    assert {k: tiles[k] for k in KEYS} == b
    tiles = _tiles(_html(client.get(reverse("dashboard"), {**today, "store": w.a.pk})))
    assert {k: tiles[k] for k in KEYS} == a

    march = {"period": "custom", "start": "2026-03-01", "end": TODAY.isoformat()}
    tiles = _tiles(_html(client.get(reverse("dashboard"), march)))
    assert {k: tiles[k] for k in KEYS} == {"gc_sold": "¥1,500.00", "gc_spent": "¥230.00",
                                           "gc_outstanding": "¥1,270.00"}
    early = {"period": "custom", "start": "2026-03-01", "end": "2026-03-11"}  # only c1 sold by then
    tiles = _tiles(_html(client.get(reverse("dashboard"), early)))
    assert {k: tiles[k] for k in KEYS} == {"gc_sold": "¥500.00", "gc_spent": "¥0.00", "gc_outstanding": "¥500.00"}
