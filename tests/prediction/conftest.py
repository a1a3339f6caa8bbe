import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from membercare.sales.models import Receipt
from tests.factories import BrandFactory, MemberFactory, StoreFactory

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
_numbers = iter(range(1, 10**9))


def local(text: str) -> dt.datetime:
    """'2026-01-01 10:00' in Shanghai time, aware."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SH)


def sale(member, store, when: str, paid: str | Decimal) -> Receipt:
    paid = Decimal(paid)
    return Receipt.objects.create(number=f"P{next(_numbers):09d}", store=store, member=member, sold_at=local(when),
                                  total_full_price=paid, total_paid=paid)


def refund(original: Receipt, when: str, paid: str | Decimal) -> Receipt:
    paid = Decimal(paid)
    return Receipt.objects.create(number=f"P{next(_numbers):09d}", store=original.store, member=original.member,
                                  sold_at=local(when), total_full_price=paid, total_paid=paid, original=original)


@pytest.fixture
def brands(db):
    main = BrandFactory(code="MAIN", name="主品牌")
    sub = BrandFactory(code="JUEDU", name="爵度", parent=main, company=main.company)
    return main, sub


@pytest.fixture
def stores(brands):
    main, sub = brands
    return StoreFactory(code="M01", brand=main), StoreFactory(code="J01", brand=sub)


@pytest.fixture
def member_factory(stores):
    return lambda **kw: MemberFactory(home_store=stores[0], **kw)
