"""Idempotency-Key: a retried write replays the first result and never posts twice."""

import threading
import uuid

import pytest
from django.db import connection

from membercare.loyalty.models import IdempotencyRecord, PointsEntry
from membercare.sales.models import Receipt


def test_a_retry_returns_the_first_result_and_posts_once(pos, clock):
    clock(2026, 6, 1)
    key = uuid.uuid4().hex
    first = pos.checkout(("SHIRT", 2), idem=key)
    again = pos.checkout(("SHIRT", 2), idem=key)
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    assert Receipt.objects.count() == 1
    assert sum(PointsEntry.objects.values_list("points", flat=True)) == 2000


def test_a_replay_is_marked(client, pos, clock):
    clock(2026, 6, 1)
    headers = pos.headers(**{"Idempotency-Key": "sale-1"})
    body = '{"phone": "13800001234", "lines": [{"sku": "SHIRT", "quantity": 1}]}'
    r1 = client.post("/api/pos/checkout", body, content_type="application/json", headers=headers)
    r2 = client.post("/api/pos/checkout", body, content_type="application/json", headers=headers)
    assert "Idempotent-Replayed" not in r1 and r2["Idempotent-Replayed"] == "true"
    assert r1.status_code == r2.status_code == 201 and r1.json() == r2.json()


def test_the_same_key_with_a_different_body_is_refused(pos, clock):
    clock(2026, 6, 1)
    assert pos.checkout(("SHIRT", 2), idem="k1")[0] == 201
    status, body = pos.checkout(("SHIRT", 3), idem="k1")
    assert status == 409 and body["code"] == "idempotency_key_reused" and body["field"] == "Idempotency-Key"
    assert Receipt.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_refused(pos, clock):
    clock(2026, 6, 1)
    _s, sale = pos.checkout(("SHIRT", 2), idem="k1")
    status, body = pos.ret(sale["number"], idem="k1")
    assert status == 409 and body["code"] == "idempotency_key_reused"
    assert Receipt.objects.count() == 1


def test_a_write_without_a_key_is_refused_and_writes_nothing(pos, clock):
    clock(2026, 6, 1)
    status, body = pos.checkout(("SHIRT", 2), idem=None)
    assert status == 400 and body["code"] == "idempotency_key_required"
    status, body = pos.ret("SH01-0000000001", idem=None)
    assert status == 400 and body["code"] == "idempotency_key_required"
    status, body = pos.checkout(("SHIRT", 2), idem="x" * 101)
    assert status == 400 and body["code"] == "idempotency_key_invalid"
    assert not Receipt.objects.exists() and not IdempotencyRecord.objects.exists()


def test_keys_are_per_store(pos, pos2, clock):
    clock(2026, 6, 1)
    assert pos.checkout(("SHIRT", 1), idem="same")[0] == 201
    assert pos2.checkout(("SHIRT", 1), idem="same")[0] == 201
    assert Receipt.objects.count() == 2


def test_a_refusal_is_a_result_too(pos, clock):
    clock(2026, 6, 1)
    first = pos.checkout(("SHIRT", 1), redeem_points=50, idem="k")
    assert first[0] == 422 and first[1]["code"] == "points_insufficient"
    pos.checkout(("SHIRT", 1))  # now there would be points
    assert pos.checkout(("SHIRT", 1), redeem_points=50, idem="k") == first  # the same key replays the refusal


def test_a_return_retried_is_returned_once(pos, clock):
    clock(2026, 6, 1)
    _s, sale = pos.checkout(("SHIRT", 3))
    line = sale["lines"][0]["id"]
    first = pos.ret(sale["number"], [{"line_id": line, "quantity": 1}], idem="r1")
    again = pos.ret(sale["number"], [{"line_id": line, "quantity": 1}], idem="r1")
    assert first == again and first[0] == 201
    assert Receipt.objects.filter(original__isnull=False).count() == 1
    assert first[1]["points_change"] == -1000 and first[1]["points_balance"] == 2000


def _concurrently(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def work(i):
        try:
            barrier.wait()
            results[i] = fn()
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_post_once(keys, member):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent writers")
    from django.test import Client

    from membercare.core.sequences import reserve_numbers

    from .conftest import Pos

    reserve_numbers("receipt")  # the sequence exists (first creation races in core.sequences)

    def attempt():
        return Pos(Client(), keys["SH01"]).checkout(("SHIRT", 2), idem="one-sale")

    results = _concurrently(6, attempt)
    assert {status for status, _b in results} == {201}
    assert len({b["number"] for _s, b in results}) == 1
    assert Receipt.objects.count() == 1
    member.loyalty.refresh_from_db()
    assert member.loyalty.points == 2000 == sum(PointsEntry.objects.values_list("points", flat=True))



def test_a_failed_attempt_records_nothing_and_the_retry_posts(pos, clock, monkeypatch):
    import membercare.checkout.pipeline as core

    clock(2026, 6, 1)
    real = core.checkout_post

    def failing(**kw):
        real(**kw)  # posts, then the server fails before answering: everything must roll back
        raise RuntimeError("lost the database half-way")

    monkeypatch.setattr(core, "checkout_post", failing)
    status, body = pos.checkout(("SHIRT", 1), idem="retry-me")
    assert status == 500 and body["code"] == "server_error"
    assert not Receipt.objects.exists() and not IdempotencyRecord.objects.exists()
    monkeypatch.setattr(core, "checkout_post", real)
    status, body = pos.checkout(("SHIRT", 1), idem="retry-me")
    assert status == 201 and Receipt.objects.count() == 1
