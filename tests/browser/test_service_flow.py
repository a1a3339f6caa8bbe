"""Complaints and surveys in a real browser: a clerk opens a complaint from the member's profile and
records its first step; a member answers a survey on a phone-sized screen without logging in, once."""

import time

import pytest

from membercare.org.models import Role
from membercare.service.models import Complaint, ComplaintStep, Survey
from membercare.service.surveys import survey_send
from tests.factories import MemberFactory, StaffFactory, StoreFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def counter(transactional_db):
    store = StoreFactory(code="SH01", name="上海南京路店")
    clerk = StaffFactory(username="service_clerk", role=Role.CLERK, stores=[store])
    member = MemberFactory(name="王丽", phone="13800001234", home_store=store, owner=clerk)
    return store, clerk, member


def test_clerk_opens_a_complaint_from_the_profile_and_records_the_first_step(page, login_as, counter):
    from playwright.sync_api import expect

    store, clerk, member = counter
    login_as(page, clerk)
    page.goto(f"/members/{member.pk}/")
    started = time.monotonic()
    page.locator("#service-panel a", has_text="登记投诉").click()
    page.locator("input[name=category]").first.check()
    page.locator("textarea[name=description]").fill("大衣穿了两次就起球")
    with page.expect_navigation():
        page.locator("button[type=submit]", has_text="登记").click()
    opened_in = time.monotonic() - started
    complaint = Complaint.objects.get()
    assert complaint.member == member and complaint.store == store and complaint.owner == clerk
    assert opened_in < 60  # "in under a minute" — the browser needs a few seconds, a clerk a few more

    # the first step's form: a missing note comes back as an error, nothing recorded
    page.locator("#step-form button[type=submit]").click()
    expect(page.locator("#step-form .errorlist")).to_be_visible()
    assert not ComplaintStep.objects.exists()
    assert page.problems.failed == [f"400 POST {page.url}"]  # the form comes back with its error as a 400
    page.problems.failed.clear()
    page.locator("#step-form textarea[name=note]").fill("耐心倾听，表示理解")
    page.locator("#step-form button[type=submit]").click()
    expect(page.locator("#step-form input[name=step]")).to_have_value("talk")
    assert list(ComplaintStep.objects.values_list("step", flat=True)) == ["listen"]
    page.problems.assert_none()


def test_member_answers_a_survey_on_a_phone_once(browser, live_server, counter):
    from playwright.sync_api import expect

    store, clerk, member = counter
    survey, token = survey_send(member=member, store=store, clerk=clerk, source="callback")
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 375, "height": 740},
                                  is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"/s/{token}/")
        assert "/login/" not in page.url  # public: no login
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # fits the phone, no sideways scroll
        page.locator("input[name=csat][value='5']").check()
        page.locator("input[name=nps][value='9']").check()
        page.locator("textarea[name=comment]").fill("店员很耐心")
        page.locator("button[type=submit]").click()
        expect(page.locator("#survey-state")).to_have_attribute("data-state", "thanks")
        survey.refresh_from_db()
        assert (survey.csat, survey.nps, survey.comment) == (5, 9, "店员很耐心")

        page.goto(f"/s/{token}/")  # the link again: already answered, no form, the answer stays
        expect(page.locator("#survey-state")).to_have_attribute("data-state", "answered")
        expect(page.locator("input[name=csat]")).to_have_count(0)
        forged = page.goto(f"/s/{token[:-2]}xx/")
        assert forged.status == 404 and page.locator("input[name=csat]").count() == 0
    finally:
        context.close()
    assert Survey.objects.get().csat == 5
