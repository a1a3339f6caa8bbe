"""Service pages: permissions on the server, the complaint forms, the member profile panel and timeline,
gift pages, the report, survey results and the public survey page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from membercare.service.complaints import complaint_open
from membercare.service.models import Complaint, ComplaintState, GiftIssue, GiftStock, Survey
from membercare.service.surveys import survey_send
from tests.factories import MemberFactory

from .conftest import walk

pytestmark = pytest.mark.django_db


def test_pages_need_login(client):
    response = client.get(reverse("service_complaints"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_nav_links(login, clerk, manager):
    html = login(clerk).get(reverse("service_complaints")).content.decode()
    assert reverse("service_gift_stock") in html and reverse("service_survey_results") not in html
    html = login(manager).get(reverse("service_complaints")).content.decode()
    assert reverse("service_survey_results") in html


def test_open_from_profile(login, clerk, member, store):
    client = login(clerk)
    profile = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert f"{reverse('service_complaint_new')}?member={member.pk}" in profile
    response = client.post(reverse("service_complaint_new"), {
        "member": member.pk, "store": store.pk, "category": "quality", "severity": "high", "sku": "",
        "description": "拉链坏了"})
    complaint = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("service_complaint", args=[complaint.pk])
    assert complaint.member == member and complaint.owner == clerk


def test_open_from_the_counter_by_phone(login, clerk, member, store):
    response = login(clerk).post(reverse("service_complaint_new"), {
        "member_query": member.phone, "store": store.pk, "category": "fit", "severity": "low",
        "description": "尺码不对"})
    assert response.status_code == 302
    assert Complaint.objects.get().member == member


def test_open_form_errors_name_the_field(login, clerk, store):
    with translation.override("en"):
        response = login(clerk).post(reverse("service_complaint_new"), {
            "member_query": "13999999999", "store": store.pk, "category": "fit", "severity": "low",
            "description": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    form = response.context["form"]
    assert "member_query" in form.errors and "description" in form.errors
    assert not Complaint.objects.exists()


def test_member_pick_htmx(login, clerk, member):
    response = login(clerk).get(reverse("service_member_pick"), {"member_query": member.phone},
                                HTTP_HX_REQUEST="true")
    assert f'value="{member.pk}"' in response.content.decode()


def test_clerk_cannot_open_in_another_store(login, other_clerk, member, store):
    response = login(other_clerk).post(reverse("service_complaint_new"), {
        "member": member.pk, "store": store.pk, "category": "fit", "severity": "low", "description": "x"})
    assert response.status_code == 200 and not Complaint.objects.exists()  # the store is not a choice


def test_detail_walks_the_steps(login, clerk, open_complaint):
    client = login(clerk)
    url = reverse("service_complaint", args=[open_complaint.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"step": "listen", "note": "耐心听完"})
    assert response.status_code == 302
    open_complaint.refresh_from_db()
    assert open_complaint.state == ComplaintState.TALK
    # a stale page posting the old step again records nothing
    response = client.post(url, {"step": "listen", "note": "again"})
    assert response.status_code == 302 and open_complaint.steps.count() == 1
    # an empty note is refused next to the field
    response = client.post(url, {"step": "talk", "note": ""})
    assert response.status_code == 400 and "note" in response.context["form"].errors


def test_detail_handle_needs_remedy(login, clerk, open_complaint):
    c = walk(open_complaint, clerk, until="handle")
    response = login(clerk).post(reverse("service_complaint", args=[c.pk]), {"step": "handle", "note": "处理"})
    assert response.status_code == 400 and "remedy" in response.context["form"].errors


def test_detail_compensate_with_gift(login, clerk, open_complaint, gift, stocked):
    c = walk(open_complaint, clerk, until="compensate")
    response = login(clerk).post(reverse("service_complaint", args=[c.pk]),
                                 {"step": "compensate", "note": "送方巾", "gift": gift.pk})
    assert response.status_code == 302
    assert GiftIssue.objects.get().complaint_id == c.pk


def test_other_store_clerk_gets_403(login, other_clerk, open_complaint):
    url = reverse("service_complaint", args=[open_complaint.pk])
    assert login(other_clerk).get(url).status_code == 403
    assert login(other_clerk).post(url, {"step": "listen", "note": "x"}).status_code == 403


def test_list_scopes(login, clerk, manager, other_manager, specialist, member, store, other_store, other_clerk):
    mine = complaint_open(by=clerk, member=member, store=store, category="fit", severity="low", description="a")
    theirs = complaint_open(by=other_clerk, member=member, store=other_store, category="fit", severity="low",
                            description="b")
    Complaint.objects.filter(pk=mine.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))

    def numbers(user, **params):
        response = login(user).get(reverse("service_complaints"), params)
        return {c.number for c in response.context["page"]}

    assert numbers(clerk) == {mine.number}
    assert numbers(manager, scope="store") == {mine.number}
    assert numbers(other_manager, scope="store") == {theirs.number}
    assert numbers(specialist, scope="store") == {mine.number, theirs.number}
    assert numbers(specialist, scope="store", overdue="1") == {mine.number}
    html = login(clerk).get(reverse("service_complaints")).content.decode()
    assert 'class="overdue"' in html


def test_report_permissions_and_repeats(login, clerk, manager, member, store):
    for _ in range(2):
        complaint_open(by=clerk, member=member, store=store, category="quality", severity="low", description="x",
                       sku="COAT-01")
    other = MemberFactory(home_store=store)
    complaint_open(by=clerk, member=other, store=store, category="quality", severity="low", description="y",
                   sku="COAT-01")
    assert login(clerk).get(reverse("service_complaint_report")).status_code == 403
    response = login(manager).get(reverse("service_complaint_report"))
    assert response.status_code == 200
    kinds = {(r.kind, r.count) for r in response.context["repeats"]}
    assert ("member", 2) in kinds and ("product", 3) in kinds
    by_category = response.context["groups"]["category"]
    assert by_category[0].key == "quality" and by_category[0].total == 3 and by_category[0].open == 3


def test_profile_panel_and_timeline(login, clerk, member, open_complaint, gift, stocked, store):
    from membercare.service.gifts import gift_issue

    gift_issue(member=member, gift=gift, store=store, reason="birthday", by=clerk)
    html = login(clerk).get(reverse("member_detail", args=[member.pk])).content.decode()
    assert 'id="service-panel"' in html and open_complaint.number in html
    assert 'data-kind="complaint"' in html and 'data-kind="gift"' in html


def test_gift_stock_page_and_low_count(login, manager, clerk, gift, stocked, store):
    GiftStock.objects.filter(pk=stocked.pk).update(quantity=1)
    response = login(clerk).get(reverse("service_gift_stock"))
    assert response.status_code == 200 and response.context["low"] == 1 and not response.context["manage"]
    assert 'class="low"' in response.content.decode()
    assert login(clerk).post(reverse("service_gift_stock"), {"action": "receive", "store": store.pk,
                                                            "r-gift": gift.pk, "r-quantity": 5}).status_code == 403
    response = login(manager).post(reverse("service_gift_stock"), {"action": "receive", "store": store.pk,
                                                                  "r-gift": gift.pk, "r-quantity": 5})
    assert response.status_code == 302
    assert GiftStock.objects.get(pk=stocked.pk).quantity == 6
    html = login(manager).get(reverse("service_complaints")).content.decode()
    assert 'id="low-stock-count"' not in html  # no longer low


def test_gift_issue_page_refuses_beyond_stock(login, clerk, member, gift, stocked, store):
    GiftStock.objects.filter(pk=stocked.pk).update(quantity=1)
    client = login(clerk)
    url = reverse("service_gift_issue")
    data = {"member": member.pk, "store": store.pk, "gift": gift.pk, "reason": "birthday", "note": ""}
    assert client.post(url, data).status_code == 302
    response = client.post(url, data)
    assert response.status_code == 400 and GiftIssue.objects.count() == 1


def test_survey_results_page(login, clerk, manager, member, store):
    survey_send(member=member, store=store, clerk=clerk, source="callback")
    assert login(clerk).get(reverse("service_survey_results")).status_code == 403
    response = login(manager).get(reverse("service_survey_results"))
    assert response.status_code == 200 and response.context["results"]["total"].sent == 1


def test_public_survey_page_without_login(client, member, store, clerk):
    _survey, token = survey_send(member=member, store=store, clerk=clerk, source="callback")
    url = reverse("survey_public", args=[token])
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and 'name="viewport"' in html and 'class="top"' not in html  # no nav
    response = client.post(url, {"csat": "5", "nps": "9", "comment": "谢谢"})
    assert 'data-state="thanks"' in response.content.decode()
    response = client.post(url, {"csat": "1", "nps": "0", "comment": "again"})
    assert 'data-state="answered"' in response.content.decode()
    survey = Survey.objects.get()
    assert (survey.csat, survey.nps, survey.comment) == (5, 9, "谢谢")


def test_public_survey_forged_token_is_a_friendly_404(client, member, store, clerk):
    survey_send(member=member, store=store, clerk=clerk, source="callback")
    for method in (client.get, client.post):
        response = method(reverse("survey_public", args=["forged-" + "A" * 30]))
        assert response.status_code == 404 and 'data-state="not_found"' in response.content.decode()
    assert not Survey.objects.filter(answered_at__isnull=False).exists()


def test_public_survey_bad_scores(client, member, store, clerk):
    _survey, token = survey_send(member=member, store=store, clerk=clerk, source="callback")
    response = client.post(reverse("survey_public", args=[token]), {"csat": "9", "nps": "3"})
    assert response.status_code == 400 and "csat" in response.context["form"].errors
    assert Survey.objects.get().answered_at is None
