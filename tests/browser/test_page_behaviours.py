"""The pages' small behaviours, now declared by data attributes and run by web/static/web/app.js under a
Content-Security-Policy without inline script: each still works, and the browser reports no CSP refusal
(PageProblems collects those)."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from membercare.care.models import Task
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory, StoreFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def shop(transactional_db):
    store = StoreFactory(code="SH01", name="上海南京路店")
    manager = StaffFactory(username="shop_manager", role=Role.MANAGER, stores=[store])
    clerk = StaffFactory(username="shop_clerk", role=Role.CLERK, stores=[store])
    member = MemberFactory(name="王丽", home_store=store, owner=clerk)
    task = Task.objects.create(rule="dormant_review", key="k1", member=member, store=store, assignee=clerk,
                               created_on=timezone.localdate(), due_on=timezone.localdate(), priority=30)
    return store, manager, clerk, member, task


def test_rows_open_dates_fill_and_confirmations_ask(page, login_as, shop):
    from playwright.sync_api import expect

    store, manager, clerk, member, task = shop
    login_as(page, manager)
    # a member list row opens the member
    page.goto("/members/")
    with page.expect_navigation():
        page.locator("tr[data-href]").first.locator("td").first.click()
    assert page.url.endswith(f"/members/{member.pk}/")
    expect(page.locator("h1")).to_contain_text("王丽")

    # the contact form's quick buttons fill the next contact date
    login_as(page, clerk)
    page.goto("/care/")
    card = page.locator(f"#task-{task.pk}")
    card.locator("summary").click()
    card.locator("button[data-set-days='7']").click()
    expected = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    expect(card.locator("input[type=date]")).to_have_value(expected)

    # a confirmation dismissed sends nothing; accepted, the form goes
    login_as(page, manager)
    page.goto("/care/store/")
    leave = page.locator("form[data-confirm]")
    leave.locator("select").first.select_option(str(clerk.pk))
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    leave.locator("button[type=submit]").click()
    page.wait_for_timeout(300)
    assert asked and "/care/store/" in page.url
    assert clerk.stores.filter(pk=store.pk).exists()  # dismissed: nothing was handed over

    # the language select switches the page at once
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.problems.assert_none()


def test_the_policy_is_sent_and_refuses_an_inline_script(page, login_as, shop):
    store, manager, clerk, member, task = shop
    login_as(page, manager)
    response = page.goto("/members/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';
                              document.body.appendChild(s); }""")
    assert page.evaluate("() => window.injected") is None
    assert any("Content Security Policy" in e for e in page.problems.js_errors)


@pytest.mark.parametrize("role", [Role.CLERK, Role.MANAGER, Role.SPECIALIST, Role.ADMIN])
def test_the_header_is_one_row_at_a_counter_tablet_and_its_menus_open(page, login_as, shop, role):
    from playwright.sync_api import expect

    store = shop[0]
    user = StaffFactory(username=f"user_{role}", role=role, stores=[store], display_name="欧阳晓梅")
    page.set_viewport_size({"width": 1024, "height": 768})
    login_as(page, user)
    page.goto("/members/search/")
    header = page.locator("header.top").bounding_box()
    assert header["height"] <= 64, f"the header wraps for {role}: {header['height']} px"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1024
    def menu(label):
        return page.locator("details[data-menu]").filter(has=page.locator("summary", has_text=re.compile(f"^{label}$")))

    care = menu("维护")
    care.locator("summary").click()
    expect(care.locator(".menu-items")).to_be_visible()
    menu("会员").locator("summary").click()
    expect(care.locator(".menu-items")).to_be_hidden()  # one menu open at a time
    page.keyboard.press("Escape")
    care.locator("summary").click()
    with page.expect_navigation():
        care.get_by_role("link", name="今日任务").click()
    assert page.url.endswith("/care/")
    expect(care).to_have_class(re.compile(r"\bactive\b"))
    page.problems.assert_none()
