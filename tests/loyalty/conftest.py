"""A small chain for loyalty tests: the main brand and the 爵度 sub-brand, the three series, products."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from membercare.org.models import Brand, Role
from tests.factories import BrandFactory, MemberFactory, ProductFactory, SeriesFactory, StaffFactory, StoreFactory


@pytest.fixture
def chain(db):
    main = BrandFactory(code="MAIN", name="主品牌")
    juedu = Brand.objects.create(company=main.company, code="JUEDU", name="爵度", parent=main)
    business = SeriesFactory(code="business", name="商务系列")
    leather = SeriesFactory(code="leather", name="皮具系列")
    golf = SeriesFactory(code="golf", name="高尔夫系列")
    shop = StoreFactory(code="SH01", name="上海南京西路店", brand=main)
    shop2 = StoreFactory(code="BJ01", name="北京国贸店", brand=main)
    jd_shop = StoreFactory(code="JD01", name="爵度上海店", brand=juedu)
    clerk = StaffFactory(username="c1", role=Role.CLERK, stores=[shop])
    products = {
        "SUIT": ProductFactory(sku="SUIT", name="西装", brand=main, series=business, full_price=Decimal("5000.00")),
        "SHIRT": ProductFactory(sku="SHIRT", name="衬衫", brand=main, series=business, full_price=Decimal("1000.00")),
        "BAG": ProductFactory(sku="BAG", name="公文包", brand=main, series=leather, full_price=Decimal("3000.00")),
        "BELT": ProductFactory(sku="BELT", name="皮带", brand=main, series=leather, full_price=Decimal("999.00")),
        "POLO": ProductFactory(sku="POLO", name="高尔夫衫", brand=main, series=golf, full_price=Decimal("1500.00")),
        "JDCOAT": ProductFactory(sku="JDCOAT", name="爵度外套", brand=juedu, series=business,
                                 full_price=Decimal("3000.00")),
        "JDTEE": ProductFactory(sku="JDTEE", name="爵度T恤", brand=juedu, series=business,
                                full_price=Decimal("500.00")),
    }

    return SimpleNamespace(main=main, juedu=juedu, shop=shop, shop2=shop2, jd_shop=jd_shop, clerk=clerk,
                           products=products, business=business, leather=leather, golf=golf)


@pytest.fixture
def member(chain):
    return MemberFactory(name="王芳", phone="13800001234", birthday=dt.date(1985, 3, 21), home_store=chain.shop)
