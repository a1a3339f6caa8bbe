"""A one-off message from the member's profile (issue 18): through the same rules as every send, logged as a
contact on the timeline; refused in Chinese with nothing written; only for members of one's own stores."""

import pytest
from django.urls import reverse

from membercare.care.models import Contact
from membercare.messaging.models import Category, Message, MessageChannel, MessageTemplate
from tests.factories import MemberFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def promo(db):
    from django.utils import timezone

    return MessageTemplate.objects.create(name="新品", category=Category.NEW_ARRIVALS, channel=MessageChannel.SMS,
                                          body="{title}您好，{store}新品已到。", updated_at=timezone.now())


def test_a_clerk_sends_a_one_off_message_from_the_profile(login, clerk, store):
    member = MemberFactory(home_store=store, owner=clerk, name="王丽")
    client = login(clerk)
    profile = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert reverse("member_message", args=[member.pk]) in profile
    r = client.post(reverse("member_message", args=[member.pk]),
                    {"channel": "sms", "body": "王女士您好，您订的大衣到店了。"})
    assert r.status_code == 302 and r.url == reverse("member_detail", args=[member.pk])
    message = Message.objects.get(member=member)
    assert message.body == "王女士您好，您订的大衣到店了。" and message.sender == clerk
    assert Contact.objects.filter(member=member, outcome="message_sent").exists()


def test_a_template_fills_the_text_and_marketing_needs_consent(login, clerk, store, promo):
    member = MemberFactory(home_store=store, owner=clerk, consent_sms=False)
    client = login(clerk)
    page = client.get(reverse("member_message", args=[member.pk]), {"template": promo.pk}).content.decode()
    assert store.name + "新品已到" in page
    r = client.post(reverse("member_message", args=[member.pk]),
                    {"template": promo.pk, "channel": "sms", "body": f"您好，{store.name}新品已到。"})
    assert r.status_code == 200 and "未同意该渠道的营销消息" in r.content.decode()  # refused, said in Chinese
    assert not Message.objects.exists() and not Contact.objects.exists()


def test_only_members_of_ones_stores(login, store, other_store):
    member = MemberFactory(home_store=store)
    stranger = StaffFactory(stores=[other_store])
    assert login(stranger).get(reverse("member_message", args=[member.pk])).status_code == 403
