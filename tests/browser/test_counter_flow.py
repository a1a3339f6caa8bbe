"""The counter as a clerk uses it, in a real browser: log in, register a member, find them by the last
4 digits of their phone (htmx swaps the results), and see the phone masked."""

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext

from membercare.members.models import Member
from membercare.org.models import Role
from tests.factories import StaffFactory, StoreFactory

pytestmark = [
    pytest.mark.browser,
    # WhiteNoise warns once that STATIC_ROOT (var/static) was never collected: the live server serves
    # static files through the finders (node_modules/htmx.org included), which is what these tests check.
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PHONE = "13812345678"
MASKED = "138****5678"
NAME = "林晓梅"


@pytest.fixture
def clerk_in_store(transactional_db):
    store = StoreFactory(code="SH01", name="上海南京路店")
    return StaffFactory(username="counter_clerk", role=Role.CLERK, stores=[store])


def test_clerk_registers_member_and_finds_them_by_last4_with_masked_phone(page, login_as, clerk_in_store):
    from playwright.sync_api import expect

    login_as(page, clerk_in_store)

    # Register a member through the archive form (Chinese UI by default: fields are found by id).
    page.goto("/members/new/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.fill("#id_name", NAME)
    page.fill("#id_phone", PHONE)
    page.check("#id_gender_0")
    page.fill("#id_birthday", "1986-05-12")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert re.search(r"/members/\d+/$", page.url), f"registration did not reach the profile: {page.url}\n" + (
        page.locator("main").inner_text())
    member = Member.objects.get(phone=PHONE)
    assert member.name == NAME
    assert member.gender == "F"
    assert member.birthday.isoformat() == "1986-05-12"
    assert member.home_store.code == "SH01"

    # The counter search: htmx must be loaded from our own static files, not a CDN.
    page.goto("/members/search/")
    htmx_src = page.locator("script[src*='htmx']").get_attribute("src")
    assert htmx_src.startswith("/static/"), htmx_src
    htmx_js = page.request.get(htmx_src)
    assert htmx_js.ok, f"{htmx_src} answered {htmx_js.status}: is node_modules/htmx.org installed (npm ci)?"
    page.wait_for_function("() => window.htmx !== undefined")

    search = page.locator("#member-search")
    with page.expect_response(
        lambda r: "/members/search/" in r.url and r.request.headers.get("hx-request") == "true"
    ) as htmx_response:
        search.press_sequentially(PHONE[-4:])
    assert htmx_response.value.ok

    results = page.locator("#results")
    row = results.locator("table.results tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(NAME)
    expect(row.locator("td.phone")).to_have_text(MASKED)
    assert PHONE not in results.inner_text()
    assert PHONE not in results.inner_html()
    # htmx swapped only the results and pushed the query into the address bar.
    assert page.url.endswith("/members/search/?q=5678"), page.url
    page.problems.assert_none()


def test_language_select_switches_the_ui_to_english(page, login_as, clerk_in_store):
    from playwright.sync_api import expect

    labels = ("Counter search", "Register member", "Log out")
    with translation.override("en"):
        english = [gettext(s) for s in labels]
    with translation.override("zh-hans"):
        chinese = [gettext(s) for s in labels]

    login_as(page, clerk_in_store)
    page.goto("/members/search/")
    html = page.locator("html")
    header = page.locator("header.top")
    expect(html).to_have_attribute("lang", "zh-hans")
    for zh, en in zip(chinese, english, strict=True):
        expect(header).to_contain_text(zh)
        if zh != en:  # with the zh_Hans catalogue compiled, the English words must not show
            expect(header).not_to_contain_text(en)

    with page.expect_navigation():
        page.select_option("header select[name=language]", "en")
    expect(html).to_have_attribute("lang", "en")
    assert page.url.endswith("/members/search/"), page.url
    for en in english:
        expect(header).to_contain_text(en)
    expect(page.locator("#member-search")).to_have_attribute(
        "placeholder", "Card number, phone, last 4 digits, name or tag")

    # The choice sticks for the next page.
    page.goto("/members/new/")
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Register member")
    page.problems.assert_none()
