"""Issue 20: an event's guest list from a saved audience (as bulk sends use one): the count invited is the
audience's, a member outside it is not invited, a store manager invites only their own stores' members and may
not use an audience that is not theirs."""

from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from membercare.audiences.selectors import audience_count
from membercare.audiences.services import audience_create
from membercare.events.models import Invitation
from membercare.events.services import event_invite, invite_preview
from tests.factories import MemberFactory

from .conftest import at
from .test_events import salon

WOMEN = {"include": {"op": "and", "items": [{"type": "gender", "params": {"values": ["F"]}}]},
         "exclude": {"op": "or", "items": []}}


@pytest.fixture
def now():
    with time_machine.travel(at(2026, 6, 1, 10), tick=False):
        yield


@pytest.fixture
def people(chain):
    women = [MemberFactory(home_store=chain.shop, gender="F", consent_sms=True) for _ in range(3)]
    women += [MemberFactory(home_store=chain.shop2, gender="F", consent_sms=True) for _ in range(2)]
    men = [MemberFactory(home_store=chain.shop, gender="M", consent_sms=True) for _ in range(2)]
    return women, men


def test_the_guest_list_is_the_saved_audience(chain, hq, invite_template, people, now):
    women, men = people
    audience = audience_create(by=hq, name="女士", definition=WOMEN)
    event = salon(hq, chain, stores=[chain.shop, chain.shop2])
    preview = invite_preview(event=event, audience={"saved_audience": audience.pk}, holdout_share=Decimal("0"),
                             seed=3, by=hq)
    assert preview["total"] == audience_count(audience) == 5
    result = event_invite(event=event, audience={"saved_audience": audience.pk}, template=invite_template, by=hq,
                          base_url="https://crm.example.cn", seed=3)
    assert result["invited"] == 5
    invited = set(Invitation.objects.filter(event=event).values_list("member_id", flat=True))
    assert invited == {m.pk for m in women} and not invited & {m.pk for m in men}


def test_a_manager_invites_own_stores_members_only(chain, hq, shop_manager, invite_template, people, now):
    women, _men = people
    chain_audience = audience_create(by=hq, name="全部女士", definition=WOMEN)
    own = audience_create(by=shop_manager, name="本店女士", definition=WOMEN)
    event = salon(shop_manager, chain)
    with pytest.raises(ValidationError) as exc:  # HQ's chain-wide audience is not the manager's to use
        event_invite(event=event, audience={"saved_audience": chain_audience.pk}, template=invite_template,
                     by=shop_manager, base_url="https://crm.example.cn")
    assert "saved_audience" in exc.value.error_dict
    assert not Invitation.objects.exists()
    result = event_invite(event=event, audience={"saved_audience": own.pk}, template=invite_template,
                          by=shop_manager, base_url="https://crm.example.cn")
    assert result["invited"] == 3 == audience_count(own)
    assert set(Invitation.objects.values_list("member_id", flat=True)) == {m.pk for m in women[:3]}
    # whatever the filters say, a manager's invitation stays within their stores
    other = salon(shop_manager, chain, title="夏季沙龙")
    result = event_invite(event=other, audience={"lifecycle": []}, template=invite_template, by=shop_manager,
                          base_url="https://crm.example.cn")
    assert not Invitation.objects.filter(event=other).exclude(member__home_store=chain.shop).exists()


def test_the_invite_page_offers_the_saved_audiences(client, chain, hq, shop_manager, invite_template, people,
                                                    now):
    chain_audience = audience_create(by=hq, name="全部女士", definition=WOMEN)
    own = audience_create(by=shop_manager, name="本店女士", definition=WOMEN)
    event = salon(shop_manager, chain)
    client.force_login(shop_manager)
    page = client.get(reverse("event_invite", args=[event.pk])).content.decode()
    assert "本店女士" in page and "全部女士" not in page
    response = client.post(reverse("event_invite", args=[event.pk]), {
        "template": invite_template.pk, "holdout_pct": "0", "seed": "5", "saved_audience": chain_audience.pk,
        "action": "preview"})
    assert response.status_code == 200 and not Invitation.objects.exists()
    response = client.post(reverse("event_invite", args=[event.pk]), {
        "template": invite_template.pk, "holdout_pct": "0", "seed": "5", "saved_audience": own.pk,
        "action": "invite"})
    assert response.status_code == 302
    assert Invitation.objects.filter(event=event).count() == 3
