"""Context on the invitation pages (issue 18, item 5): more invitations than seats is warned about before sending
and on the event page (never refused); the one suitable invitation template is chosen already, so the first
preview works."""

import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from membercare.events.models import Invitation
from membercare.events.services import event_invite, invite_preview
from membercare.messaging.models import MessageTemplate

from .conftest import at
from .test_events import consenting, salon


@pytest.fixture
def now():
    with time_machine.travel(at(2026, 6, 1, 10), tick=False):
        yield


def test_the_preview_counts_invitations_after_the_send_against_the_seats(chain, hq, invite_template, now):
    consenting(8, chain)
    event = salon(hq, chain, capacity=5)
    audience = {"store_ids": [chain.shop.pk]}
    preview = invite_preview(event=event, audience=audience, holdout_share=Decimal("0"), seed=7)
    assert (preview["new"], preview["invited_after"], preview["capacity"], preview["over_seats"]) == (8, 8, 5, 3)
    # the hold-out group gets no invitation: it does not take seats
    held = invite_preview(event=event, audience=audience, holdout_share=Decimal("0.5"), seed=7)
    assert held["new"] == 8 - held["holdout"] and held["over_seats"] == max(0, held["new"] - 5)
    # sending is not refused: the warning is only a warning
    result = event_invite(event=event, audience=audience, template=invite_template, by=hq,
                          base_url="https://crm.example.cn", seed=7)
    assert result["invited"] == 8 == Invitation.objects.filter(event=event).count()
    consenting(2, chain)  # two more members: the next preview counts those invited before
    again = invite_preview(event=event, audience=audience, holdout_share=Decimal("0"), seed=7)
    assert (again["new"], again["invited_after"], again["over_seats"]) == (2, 10, 5)
    # no limit, no warning
    open_event = salon(hq, chain, title="开放日")
    assert invite_preview(event=open_event, audience=audience, holdout_share=Decimal("0"), seed=7)["over_seats"] == 0


def test_the_invite_page_warns_in_chinese_before_sending_and_the_event_page_after(
        chain, hq, invite_template, now, login):
    consenting(8, chain)
    event = salon(hq, chain, capacity=5)
    client = login(hq)
    url = reverse("event_invite", args=[event.pk])
    page = client.get(url).content.decode()
    assert "共 5 个座位；目前已邀请 0 位会员。" in page and 'id="seat-warning"' not in page
    response = client.post(url, {"template": invite_template.pk, "stores": [chain.shop.pk], "holdout_pct": "0",
                                 "seed": "7", "action": "preview"})
    html = response.content.decode()
    assert response.context["preview"]["over_seats"] == 3
    assert "本活动只有 5 个座位，发送后将有 8 位会员受邀，比座位多 3 位。仍可发送" in html
    assert 'value="invite"' in html  # the send button is still there
    response = client.post(url, {"template": invite_template.pk, "stores": [chain.shop.pk], "holdout_pct": "0",
                                 "seed": "7", "action": "invite"})
    assert response.status_code == 302 and Invitation.objects.filter(event=event).count() == 8
    detail = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert "已邀请 8 位会员，座位只有 5 个，比座位多 3 位；已有 0 位会员确认参加，共 0 位客人。" in detail
    assert 'id="count-seats"' in detail

    roomy = salon(hq, chain, title="大厅沙龙", capacity=50)
    event_invite(event=roomy, audience={"store_ids": [chain.shop.pk]}, template=invite_template, by=hq,
                 base_url="https://crm.example.cn")
    assert 'id="seat-warning"' not in client.get(reverse("event_detail", args=[roomy.pk])).content.decode()


def _selected_template(html: str) -> str | None:
    select = re.search(r'<select name="template"[^>]*>(.*?)</select>', html, re.S).group(1)
    chosen = re.search(r'<option value="(\d+)" selected>', select)
    return chosen.group(1) if chosen else None


def test_the_only_invitation_template_is_chosen_so_the_first_preview_works(chain, hq, invite_template, now, login):
    MessageTemplate.objects.filter(category="event").exclude(pk=invite_template.pk).update(is_active=False)
    consenting(2, chain)
    event = salon(hq, chain)
    client = login(hq)
    url = reverse("event_invite", args=[event.pk])
    chosen = _selected_template(client.get(url).content.decode())
    assert chosen == str(invite_template.pk)
    # the form as the page shows it, previewed at once
    response = client.post(url, {"template": chosen, "holdout_pct": "0", "seed": "7", "action": "preview"})
    assert response.context["preview"] is not None and response.context["form"].errors == {}

    # a second suitable template: the user chooses (nothing preselected); other kinds never count
    MessageTemplate.objects.create(name="生日祝福", category="birthday", channel="sms", body="{title}生日快乐",
                                   updated_at=timezone.now())
    assert _selected_template(client.get(url).content.decode()) == str(invite_template.pk)
    MessageTemplate.objects.create(name="邀请二", category="event", channel="sms", body="{event} {link}",
                                   updated_at=timezone.now())
    assert _selected_template(client.get(url).content.decode()) is None
