"""Fixtures for the coupon tests: the loyalty tests' chain and member 王芳, a batch maker, a coupon giver."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from membercare.campaigns.models import Coupon
from membercare.campaigns.services import batch_create, coupon_issue
from tests.api.conftest import Pos, clock, hq_admin, keys  # noqa: F401 - fixtures used by the API tests
from tests.loyalty import conftest as loyalty_fixtures

TZ = ZoneInfo("Asia/Shanghai")
chain = loyalty_fixtures.chain
member = loyalty_fixtures.member


def at(y, m, d, h=12, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=TZ)


@pytest.fixture
def make_batch(chain):
    def _make(**kw):
        args = {"by": None, "name": "夏季回馈券", "brand": chain.main, "kind": "amount", "value": Decimal("100"),
                "valid_from": dt.date(2026, 6, 1), "valid_to": dt.date(2026, 6, 30), "min_spend": Decimal("0")}
        args.update(kw)
        return batch_create(**args)

    return _make


@pytest.fixture
def give(member):
    """give(batch, to=member): one coupon for one member (no hold-out), issued on the batch's first day."""

    def _give(batch, to=None) -> Coupon:
        to = to or member
        issue = coupon_issue(batch=batch, audience={"member_ids": [to.pk]}, holdout_share=0, by=None,
                             at=dt.datetime.combine(batch.valid_from, dt.time(9), tzinfo=TZ))
        return Coupon.objects.get(issue=issue, member=to)

    return _give


@pytest.fixture
def pos(client, keys, member):  # noqa: F811
    return Pos(client, keys["SH01"])


@pytest.fixture
def jd_pos(client, keys, member):  # noqa: F811
    return Pos(client, keys["JD01"])
