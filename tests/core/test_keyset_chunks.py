"""Reading a big table in keyset chunks (core.bulk.in_pk_chunks): every row once, in primary-key order, one
short query per chunk and no server-side cursor held across transactions (PgBouncer in transaction mode)."""

from membercare.core.bulk import in_pk_chunks
from membercare.members.models import Member
from tests.factories import MemberFactory


def test_keyset_chunks_read_every_row_once(db, django_assert_num_queries):
    members = [MemberFactory() for _ in range(7)]
    with django_assert_num_queries(3):  # 3 + 3 + 1 rows: the short chunk ends it
        seen = [m.pk for m in in_pk_chunks(Member.objects.all(), 3)]
    assert seen == sorted(m.pk for m in members)
    with django_assert_num_queries(3):  # an exact multiple: one more, empty, chunk ends it
        assert [m.pk for m in in_pk_chunks(Member.objects.filter(pk__in=seen[:6]), 3)] == seen[:6]


def test_read_ahead_gives_every_item_in_order_from_another_thread(transactional_db):
    import threading

    from django.db import connection

    from membercare.core.bulk import read_ahead

    members = [MemberFactory() for _ in range(7)]
    threads = set()

    def chunks():
        for chunk in in_pk_chunks(Member.objects.values("pk"), 2, key="pk"):
            threads.add(threading.current_thread().name)
            yield [r["pk"] for r in chunk]

    got = list(read_ahead(chunks, using="default"))
    assert got == [[m.pk for m in members[i:i + 2]] for i in range(0, 7, 2)]
    assert threads == {"read-ahead"}  # read in the second thread, outside a transaction
    assert connection.connection is None or connection.is_usable()


def test_read_ahead_raises_the_readers_error_and_stops_when_the_caller_stops(transactional_db):
    import pytest

    from membercare.core.bulk import read_ahead

    def failing():
        yield 1
        raise ValueError("disk on fire")

    items = read_ahead(failing, using="default")
    assert next(items) == 1
    with pytest.raises(ValueError, match="disk on fire"):
        next(items)

    produced = []

    def endless():
        n = 0
        while True:
            n += 1
            produced.append(n)
            yield n

    items = read_ahead(endless, using="default", depth=2)
    assert [next(items) for _ in range(3)] == [1, 2, 3]
    items.close()  # the caller stops: the reader thread ends instead of reading on
    count = len(produced)
    import time

    time.sleep(0.3)
    assert len(produced) == count <= 7


def test_read_ahead_stays_in_the_callers_thread_inside_a_transaction(db):
    import threading

    from membercare.core.bulk import read_ahead

    def names():
        yield threading.current_thread().name

    assert list(read_ahead(names, using="default")) == [threading.current_thread().name]
