"""Issue 22 parts 3 and 5: the event check-in code on the member's phone (and the door finding the member by the
card code), and WeChat — sign-in through the adapter (linked once by a phone sign-in), the WeChat card pushed
after a sale with a template message (the fake adapter records it; no network)."""

import datetime as dt

import pytest
from django.utils import timezone

from membercare.events.models import Event, Invitation
from membercare.events.services import find_for_check_in
from membercare.membercentre import wechat
from membercare.members.cardcode import card_code
from tests.factories import MemberFactory

from .test_member_centre import PHONE, sign_in, sms  # noqa: F401  (the fixture)


@pytest.fixture
def member(db):
    return MemberFactory(phone=PHONE, name="郑晓")


def _event(title="春季新品鉴赏会"):
    now = timezone.now()
    return Event.objects.create(kind="salon", title=title, starts_at=now + dt.timedelta(days=3),
                                ends_at=now + dt.timedelta(days=3, hours=2), created_at=now)


def test_the_member_shows_a_check_in_code_that_the_door_finds(client, member, sms):  # noqa: F811
    event = _event()
    mine = Invitation.objects.create(event=event, member=member, token="t" * 43, rsvp="yes",
                                      invited_at=timezone.now())
    other = Invitation.objects.create(event=event, member=MemberFactory(), token="u" * 43, rsvp="yes",
                                       invited_at=timezone.now())
    sign_in(client, sms)
    card = client.get("/m/card/").content.decode()
    assert "春季新品鉴赏会" in card and f"/m/events/{mine.token}/" in card
    page = client.get(f"/m/events/{mine.token}/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    assert client.get(f"/m/events/{other.token}/").status_code == 404  # another member's invitation
    invitation, found = find_for_check_in(event, mine.token)
    assert invitation == mine and found == [member]
    _none, by_code = find_for_check_in(event, card_code(member.pk))
    assert by_code == [member]


@pytest.fixture
def fake_wechat(settings):
    settings.MEMBERCARE_WECHAT_ADAPTER = "membercare.membercentre.wechat.FakeWeChat"
    wechat._adapter = None
    yield
    wechat._adapter = None


def test_wechat_sign_in_links_once_by_phone_then_signs_in_alone(client, member, sms, fake_wechat):  # noqa: F811
    start = client.get("/m/wechat/")
    assert start.status_code == 302 and "/m/wechat/back/?code=code-demo-openid" in start["Location"]
    back = client.get(start["Location"].replace("http://testserver", ""))
    assert back["Location"] == "/m/"  # not linked yet
    assert "此微信尚未绑定会员" in client.get("/m/").content.decode()
    sign_in(client, sms)
    member.refresh_from_db()
    assert member.wechat_id == "demo-openid"
    assert wechat.get_adapter().calls[0][0] == "card_activate"
    client.post("/m/signout/")
    again = client.get(client.get("/m/wechat/")["Location"].replace("http://testserver", ""))
    assert again["Location"] == "/m/card/"
    forged = client.get("/m/wechat/back/?code=code-demo-openid&state=forged")
    assert forged["Location"] == "/m/"


def test_without_an_adapter_there_is_no_wechat(client, db):
    assert client.get("/m/wechat/").status_code == 404
    assert "微信登录" not in client.get("/m/").content.decode()


def test_a_sale_pushes_the_wechat_card_and_a_points_message(member, fake_wechat,
                                                            django_capture_on_commit_callbacks):
    from membercare.sales.models import Receipt
    from membercare.sales.signals import sale_posted

    member.wechat_id = "oX1"
    member.save()
    receipt = Receipt(member=member)
    with django_capture_on_commit_callbacks(execute=True):
        sale_posted.send(sender=Receipt, receipt=receipt, store=None, bought_before=False)
    calls = wechat.get_adapter().calls
    assert [c[0] for c in calls] == ["card_update", "template_send"]
    assert calls[0][1][0] == "oX1" and calls[1][1][1] == "points_changed"
