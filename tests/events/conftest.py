"""The loyalty tests' chain (main brand, 爵度, products) plus HQ staff, a manager, and an event template."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from membercare.events import exclusive
from membercare.messaging.models import MessageTemplate
from membercare.org.models import Role
from tests.factories import StaffFactory
from tests.loyalty import conftest as loyalty_fixtures

TZ = ZoneInfo("Asia/Shanghai")
chain = loyalty_fixtures.chain
member = loyalty_fixtures.member


def at(y, m, d, h=12, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _fresh_sales_cache():
    exclusive.invalidate()  # the per-process cache of the day's exclusive sales must not leak between tests
    yield
    exclusive.invalidate()


@pytest.fixture
def hq(chain):
    return StaffFactory(username="vip", role=Role.SPECIALIST)


@pytest.fixture
def shop_manager(chain):
    return StaffFactory(username="mgr", role=Role.MANAGER, stores=[chain.shop])


@pytest.fixture
def invite_template(db):
    return MessageTemplate.objects.create(name="邀请", category="event", channel="sms",
                                          body="{title}您好，诚邀您参加{event}，请点击{link}回复。{store}",
                                          updated_at=timezone.now())
