"""The privacy tests' demo chain and a busy member given unmistakable personal data."""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import models

from membercare.campaigns.services import batch_create, coupon_issue
from membercare.care.contacts import contact_log
from membercare.loyalty.models import CardStatus
from membercare.members.models import Member
from membercare.members.services import member_update
from membercare.messaging.services import message_send, opt_out
from membercare.org.models import Role, Staff
from membercare.sales.models import Receipt
from membercare.service.complaints import complaint_open

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2025, 6, 15)
NOW = dt.datetime(2025, 6, 15, 15, 0, tzinfo=TZ)

NAME = "甄士隐"
EMAIL = "zhen.shiyin@example.com"
ADDRESS = "苏州阊门外十里街仁清巷"
WECHAT = "zsy_hulu_1"
NOTE = "喜欢英莲的葫芦庙"
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def demo():
    call_command("demo_load", members=200, seed=11, today=TODAY, stdout=io.StringIO())


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def specialist_(demo):
    return Staff.objects.filter(role=Role.SPECIALIST).first()


def _busiest_member() -> Member:
    """The demo member with the most receipts who also has points and an active card."""
    ids = (Receipt.objects.filter(member__isnull=False, member__loyalty__points__gt=0,
                                  member__cards__status=CardStatus.ACTIVE)
           .values("member_id").annotate(n=models.Count("pk")).order_by("-n", "member_id"))
    return Member.objects.get(pk=ids[0]["member_id"])


@pytest.fixture
def victim(demo, traveller, specialist_):
    """A busy demo member given unmistakable personal data, a message, a contact, a complaint, a coupon."""
    member = _busiest_member()
    clerk = member.owner or Staff.objects.filter(role=Role.CLERK, stores=member.home_store).first()
    member = member_update(member=member, by=specialist_, data={
        "name": NAME, "email": EMAIL, "address": ADDRESS, "wechat_id": WECHAT, "notes": NOTE,
        "id_number": ID_NUMBER, "consent_sms": True, "consent_email": True})
    message_send(member=member, channel="sms", category="callback", sender=clerk,
                 body="{name}您好，感谢光临，欢迎再来。")
    contact_log(staff=clerk, channel="phone", outcome="reached", member=member,
                notes=f"{NAME}说地址是{ADDRESS}", next_step=f"寄到{ADDRESS}")
    complaint_open(by=clerk, member=member, store=member.home_store, category="quality", severity="medium",
                   description=f"{NAME}（{member.phone}）说衬衫掉色")
    opt_out(member, "email", source="TD")
    batch = batch_create(by=specialist_, name="感恩券", brand=member.home_store.brand, kind="amount", value="100",
                         valid_from=TODAY, valid_to=TODAY + dt.timedelta(days=30))
    coupon_issue(batch=batch, audience={"member_ids": [member.pk]}, holdout_share=Decimal("0"), by=specialist_)
    return Member.objects.get(pk=member.pk)


