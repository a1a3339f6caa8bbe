"""Card pages: filing, the review queue with htmx buttons, signature, lost cards; permissions on the server."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation

from membercare.checkout.pipeline import CheckoutError, LineIn, checkout_post
from membercare.loyalty.models import Card, CardApplication, CardStatus
from membercare.org.models import Role
from tests.factories import StaffFactory
from tests.loyalty import conftest as loyalty_fixtures

chain, member = loyalty_fixtures.chain, loyalty_fixtures.member  # the loyalty tests' chain fixtures
TZ = ZoneInfo("Asia/Shanghai")
HTMX = {"HTTP_HX_REQUEST": "true"}


def first_card(chain, member):
    checkout_post(store=chain.shop, clerk=chain.clerk, phone=member.phone, lines=[LineIn("SHIRT", 1)],
                  sold_at=dt.datetime(2026, 6, 1, 12, tzinfo=TZ))
    return Card.objects.get(member=member)


@pytest.mark.parametrize("name,args", [("card_apply", []), ("card_applications", []), ("card_member", [1]),
                                       ("card_report_lost", [1])])
def test_card_pages_need_a_login(client, db, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_clerk_files_an_application_from_the_member(login, chain, member):
    client = login(chain.clerk)
    page = client.get(f"/cards/apply/?member={member.pk}")
    assert page.status_code == 200 and member.name in page.content.decode()
    response = client.post(f"/cards/apply/?member={member.pk}", {
        "member": member.pk, "kind": "new", "card_kind": "elite", "store": chain.shop.pk, "note": "VIP"})
    assert response.status_code == 302 and response.url == reverse("card_member", args=[member.pk])
    app = CardApplication.objects.get()
    assert (app.kind, app.card_kind, app.store, app.filed_by) == ("new", "elite", chain.shop, chain.clerk)


def test_bad_application_shows_the_field_error_and_writes_nothing(login, chain, member):
    client = login(chain.clerk)
    with translation.override("en"):
        response = client.post(f"/cards/apply/?member={member.pk}", {
            "member": member.pk, "kind": "reissue", "card_kind": "elite", "store": chain.shop.pk},
            HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["form"].has_error("old_card_number", code="old_card_required")
    # a store that is not the clerk's is not even offered
    response = client.post(f"/cards/apply/?member={member.pk}", {
        "member": member.pk, "kind": "new", "card_kind": "elite", "store": chain.shop2.pk})
    assert response.status_code == 200 and response.context["form"].has_error("store")
    assert not CardApplication.objects.exists()


def test_review_queue_approve_and_reject_with_htmx(login, chain, member, specialist):
    client = login(chain.clerk)
    for kind in ("elite", "diamond"):
        client.post(f"/cards/apply/?member={member.pk}", {"member": member.pk, "kind": "new", "card_kind": kind,
                                                          "store": chain.shop.pk})
    elite, diamond = CardApplication.objects.order_by("pk")
    client = login(specialist)
    queue = client.get(reverse("card_applications"))
    html = queue.content.decode()
    assert queue.context["counts"] == {"pending": 2, "approved": 0, "rejected": 0, "done": 0}
    assert reverse("card_approve", args=[elite.pk]) in html and reverse("card_reject", args=[diamond.pk]) in html
    row = client.post(reverse("card_approve", args=[elite.pk]), **HTMX)
    assert row.status_code == 200 and row.content.decode().lstrip().startswith(f'<tr id="app-{elite.pk}"')
    elite.refresh_from_db()
    assert elite.status == "approved" and elite.new_card.status == CardStatus.PENDING
    assert elite.new_card.number in row.content.decode()
    with translation.override("en"):
        row = client.post(reverse("card_reject", args=[diamond.pk]), {"reason": ""}, **HTMX,
                          HTTP_ACCEPT_LANGUAGE="en")
    assert "Give a reason for the rejection." in row.content.decode()
    row = client.post(reverse("card_reject", args=[diamond.pk]), {"reason": "不符合条件"}, **HTMX)
    diamond.refresh_from_db()
    assert diamond.status == "rejected" and "不符合条件" in diamond.note
    # pending first: a new pending application is listed before the reviewed ones
    newer = CardApplication.objects.create(member=member, kind="new", card_kind="knight", store=chain.jd_shop,
                                           filed_at=diamond.filed_at)
    listed = list(client.get(reverse("card_applications")).context["page"])
    assert listed[0] == newer


def test_a_clerk_cannot_approve_or_reject_and_sees_only_their_stores(login, chain, member, specialist):
    mine = CardApplication.objects.create(member=member, kind="new", card_kind="elite", store=chain.shop,
                                          filed_at=member.created_at)
    other = CardApplication.objects.create(member=member, kind="new", card_kind="knight", store=chain.jd_shop,
                                           filed_at=member.created_at)
    client = login(chain.clerk)
    assert client.post(reverse("card_approve", args=[mine.pk]), **HTMX).status_code == 403
    assert client.post(reverse("card_reject", args=[mine.pk]), {"reason": "x"}).status_code == 403
    mine.refresh_from_db()
    assert mine.status == "pending" and not Card.objects.exists()
    listed = list(client.get(reverse("card_applications")).context["page"])
    assert listed == [mine]
    page = client.get(reverse("card_applications")).content.decode()
    assert reverse("card_approve", args=[mine.pk]) not in page
    assert client.post(reverse("card_activate", args=[other.pk])).status_code == 404


def test_member_signs_and_the_card_activates(login, chain, member, specialist):
    app = CardApplication.objects.create(member=member, kind="new", card_kind="elite", store=chain.shop,
                                         filed_at=member.created_at)
    login(specialist).post(reverse("card_approve", args=[app.pk]))
    app.refresh_from_db()
    client = login(chain.clerk)
    page = client.get(reverse("card_member", args=[member.pk])).content.decode()
    assert app.new_card.number in page and reverse("card_activate", args=[app.pk]) in page
    row = client.post(reverse("card_activate", args=[app.pk]), **HTMX)
    assert row.status_code == 200
    app.refresh_from_db()
    assert app.status == "done" and app.new_card.status == CardStatus.ACTIVE
    row = client.post(reverse("card_activate", args=[app.pk]), **HTMX)  # twice: an error in the row, no change
    assert 'class="errorlist"' in row.content.decode()


def test_report_lost_page_voids_the_card_at_once(login, chain, member):
    card = first_card(chain, member)
    client = login(chain.clerk)
    assert card.number in client.get(reverse("card_report_lost", args=[card.pk])).content.decode()
    response = client.post(reverse("card_report_lost", args=[card.pk]), {"reason": ""})
    assert response.status_code == 200 and response.context["error"]
    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE
    response = client.post(reverse("card_report_lost", args=[card.pk]), {"reason": "丢失，已核对身份证"})
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.status == CardStatus.VOID
    with pytest.raises(CheckoutError) as exc:
        checkout_post(store=chain.shop2, clerk=chain.clerk, card_number=card.number, lines=[LineIn("SHIRT", 1)])
    assert exc.value.error_code == "card_void"
    app = CardApplication.objects.get(kind="reissue")
    assert app.old_card == card and app.store == chain.shop
    queue = login(StaffFactory(role=Role.SPECIALIST)).get(reverse("card_applications") + "?status=pending")
    assert list(queue.context["page"]) == [app]


def test_member_cards_page_offers_an_exchange(login, chain, member):
    card = first_card(chain, member)
    page = login(chain.clerk).get(reverse("card_member", args=[member.pk]))
    html = page.content.decode()
    assert f"kind=upgrade&old={card.number}" in html and reverse("card_report_lost", args=[card.pk]) in html
    form = login(chain.clerk).get(f"/cards/apply/?member={member.pk}&kind=upgrade&old={card.number}")
    assert form.context["form"].initial["old_card_number"] == card.number
