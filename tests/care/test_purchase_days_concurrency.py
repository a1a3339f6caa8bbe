"""Two refreshes of the purchase-day table at once (the care job on one worker, a prediction recompute on
another, both finding no table yet): the second waits for the first and then goes on from its cursor, instead
of building the table a second time and failing on the first's cursor (found by tests/core/test_multinode.py,
where every scheduled job starts at the same moment). PostgreSQL: real connections in two threads."""

import threading

import pytest
from django.db import connection

from membercare.care import purchase_days
from membercare.care.models import CareCursor, PurchaseDay
from tests.factories import MemberFactory, ReceiptFactory


@pytest.mark.django_db(transaction=True)
def test_a_second_first_build_waits_for_the_first(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite lets one writer in at a time anyway")
    member = MemberFactory()
    ReceiptFactory(member=member, store=member.home_store)
    inside, go = threading.Event(), threading.Event()
    insert_days = purchase_days._insert_days

    def slow_first(sql: str) -> int:  # the first build stops half-way, its transaction open
        count = insert_days(sql)
        if threading.current_thread().name == "first":
            inside.set()
            assert go.wait(30)
        return count

    monkeypatch.setattr(purchase_days, "_insert_days", slow_first)
    errors: list[BaseException] = []

    def refresh() -> None:
        try:
            purchase_days.refresh_purchase_days()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=refresh, name="first")
    second = threading.Thread(target=refresh, name="second")
    first.start()
    assert inside.wait(30)
    second.start()
    second.join(2)  # it must wait for the first (before the fix it built the table too, then failed)
    go.set()
    first.join(30)
    second.join(30)
    assert errors == []
    assert list(CareCursor.objects.filter(name=purchase_days.CURSOR).values_list("name", flat=True)) == [
        purchase_days.CURSOR]
    assert PurchaseDay.objects.filter(member=member).count() == 1
