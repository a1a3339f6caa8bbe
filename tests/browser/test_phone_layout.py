"""A usable phone layout (issue 18 part 3): at 390×844 the header is one compact row with a menu button that opens
the grouped menus; the care list's cards and the member profile fit the screen's width (nothing scrolls
sideways) with each card's facts stacked label beside value. A header whose menus do not fit one row at a
tablet's 1024×768 (the English labels) gets the same menu button instead of overflowing."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from membercare.care.models import Contact, Outcome, Task
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory, StoreFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shop(transactional_db):
    store = StoreFactory(code="SH01", name="上海南京西路店")
    clerk = StaffFactory(username="phone_clerk", role=Role.CLERK, stores=[store], display_name="欧阳晓梅")
    specialist = StaffFactory(username="phone_vip", role=Role.SPECIALIST, display_name="欧阳晓梅")
    today = timezone.localdate()
    members = []
    for i, (name, rule) in enumerate([("欧阳丽娜", "dormant_review"), ("赵敏", "new_member_callback"),
                                      ("王丽", "campaign_notice")]):
        member = MemberFactory(name=name, home_store=store, owner=clerk, consent_sms=True)
        Task.objects.create(rule=rule, key=f"p{i}", member=member, store=store, assignee=clerk,
                            created_on=today - dt.timedelta(days=3), due_on=today - dt.timedelta(days=i % 2),
                            priority=10 + i, channel="sms" if rule == "campaign_notice" else "phone")
        members.append(member)
    Contact.objects.create(member=members[0], staff=clerk, store=store, channel="phone",
                           outcome=Outcome.REACHED, at=timezone.now() - dt.timedelta(days=40),
                           notes="想看新款羊绒大衣，" * 6 + "https://example.com/a-very-long-link-without-any-break-in-it")
    return store, clerk, specialist, members


def no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at a phone's 390 px"


def test_the_phone_header_is_one_compact_row_whose_button_opens_the_grouped_menus(page, login_as, shop):
    from playwright.sync_api import expect

    store, clerk, specialist, members = shop
    page.set_viewport_size(PHONE)
    for user in (clerk, specialist):
        login_as(page, user)
        page.goto("/care/")
        header = page.locator("header.top")
        assert header.bounding_box()["height"] <= 64, f"the phone header is {header.bounding_box()['height']} px"
        no_sideways_scroll(page)
        groups = header.locator("details[data-menu]")
        expect(groups.first).to_be_hidden()  # the menus wait behind the button
        toggle = header.locator("[data-nav-toggle]")
        expect(toggle).to_have_text(re.compile("菜单"))
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(header.locator("details[data-menu] > summary", has_text=re.compile("^维护$"))).to_be_visible()
        expect(header.locator("select[name=language]")).to_be_visible()
        panel = header.locator(".nav-panel").bounding_box()
        assert panel["x"] >= 0 and panel["x"] + panel["width"] <= PHONE["width"]
        page.keyboard.press("Escape")
        expect(groups.first).to_be_hidden()
    toggle.click()
    care = groups.filter(has=page.locator("summary", has_text=re.compile("^维护$")))
    care.locator("summary").click()
    with page.expect_navigation():
        care.get_by_role("link", name="今日任务").click()
    assert page.url.endswith("/care/")
    page.problems.assert_none()


def test_the_care_list_and_the_profile_fit_a_phone(page, login_as, shop):
    store, clerk, specialist, members = shop
    page.set_viewport_size(PHONE)
    login_as(page, clerk)
    page.goto("/care/")
    cards = page.locator("article.task")
    assert cards.count() == 3
    no_sideways_scroll(page)
    for i in range(cards.count()):
        card = cards.nth(i)
        box = card.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        # the facts: each label with its value beside it, in two columns, inside the card
        labels = card.locator("dl.facts dt")
        values = card.locator("dl.facts dd")
        assert labels.count() == values.count() >= 7
        label_x = {round(labels.nth(j).bounding_box()["x"]) for j in range(labels.count())}
        assert len(label_x) == 1, "the facts' labels should make one column on a phone"
        for j in range(values.count()):
            label, value = labels.nth(j).bounding_box(), values.nth(j).bounding_box()
            assert abs(label["y"] - value["y"]) < 4 and value["x"] > label["x"] + label["width"] - 1
            assert value["x"] + value["width"] <= box["x"] + box["width"] + 1
        # the call button is a full-width touch target
        call = card.locator("a.call").bounding_box()
        assert call["height"] >= 44 and call["width"] >= box["width"] * 0.7
    card = cards.filter(has_text="欧阳丽娜")
    card.locator("details.log summary").first.click()
    page.locator("article.task details.log[open] .log-form").first.wait_for()
    no_sideways_scroll(page)

    page.goto(f"/members/{members[0].pk}/")
    assert page.locator("header.top").bounding_box()["height"] <= 64
    no_sideways_scroll(page)
    page.goto("/members/")  # a wide table scrolls by itself
    no_sideways_scroll(page)
    page.problems.assert_none()


def test_a_header_too_long_for_one_row_at_a_tablet_gets_the_menu_button(page, login_as, shop):
    from playwright.sync_api import expect

    store, clerk, specialist, members = shop
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, specialist)
    with page.expect_navigation():
        page.select_option("header select[name=language]", "en")
    page.goto("/members/search/")
    header = page.locator("header.top")
    assert header.bounding_box()["height"] <= 64
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024
    toggle = header.locator("[data-nav-toggle]")
    expect(toggle).to_be_visible()
    toggle.click()
    expect(header.locator("details[data-menu] > summary", has_text=re.compile("^Settings$"))).to_be_visible()
    page.problems.assert_none()
