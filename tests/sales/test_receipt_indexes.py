"""Receipt numbers are unique in the database; PostgreSQL keeps no pattern-ops index beside the constraint."""

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import ReceiptFactory


def test_a_receipt_number_is_taken_once(db):
    first = ReceiptFactory(number="SH01-0000000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReceiptFactory(number=first.number, store=first.store)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes")
def test_receipts_carry_only_the_indexes_the_product_reads_by(db):
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sales_receipt'")
        indexes = dict(cur.fetchall())
    assert not any("varchar_pattern_ops" in definition for definition in indexes.values())
    assert "UNIQUE" in indexes["sales_receipt_number_key"]
    assert "INCLUDE (store_id, total_paid)" in indexes["receipt_member_sold"]  # the rolling spend, index-only
