"""Factories for tests: real rows in the real database (no mocked database)."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from membercare.members.models import Member
from membercare.members.services import apply_derived_fields
from membercare.org.models import Brand, Company, Region, Role, Staff, Store
from membercare.sales.models import Product, Receipt, ReceiptLine, Series


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = "演示集团"


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("code",)

    company = factory.SubFactory(CompanyFactory)
    code = "MAIN"
    name = "主品牌"


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    company = factory.SubFactory(CompanyFactory)
    code = "EAST"
    name = "华东区"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Sequence(lambda n: f"门店{n}")
    brand = factory.SubFactory(BrandFactory)
    region = factory.SubFactory(RegionFactory)
    networked = True


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"店员{n}")
    role = Role.CLERK
    password = factory.PostGenerationMethodCall("set_password", "pass12345")

    @factory.post_generation
    def stores(self, create, extracted, **kwargs):
        if create and extracted:
            self.stores.set(extracted)
        if create:
            self.save()


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    member_no = factory.Sequence(lambda n: f"M{n:08d}")
    name = factory.Sequence(lambda n: f"会员{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    gender = "F"
    birthday = dt.date(1985, 3, 21)
    home_store = factory.SubFactory(StoreFactory)
    created_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        member = model_class(*args, **kwargs)
        apply_derived_fields(member)
        member.save()
        return member


class SeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Series
        django_get_or_create = ("code",)

    code = "business"
    name = "商务系列"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    name = factory.Sequence(lambda n: f"西装{n}")
    brand = factory.SubFactory(BrandFactory)
    series = factory.SubFactory(SeriesFactory)
    full_price = Decimal("1999.00")


class ReceiptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Receipt

    number = factory.Sequence(lambda n: f"R{n:010d}")
    store = factory.SubFactory(StoreFactory)
    sold_at = factory.LazyFunction(timezone.now)
    total_full_price = Decimal("1999.00")
    total_paid = Decimal("1699.15")


class ReceiptLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReceiptLine

    receipt = factory.SubFactory(ReceiptFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    full_price = Decimal("1999.00")
    paid_amount = Decimal("1699.15")
