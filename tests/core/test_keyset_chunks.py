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
