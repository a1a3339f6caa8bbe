"""The clerk's morning in a real browser: the task list with the overdue task first and marked, the contact
log posted with htmx — an error comes back inline with what was typed, then the card goes away."""

import datetime as dt

import pytest
from django.utils import timezone

from membercare.care.models import Contact, Task, TaskStatus
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory, StoreFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def clerk_with_tasks(transactional_db):
    store = StoreFactory(code="SH01", name="上海南京路店")
    clerk = StaffFactory(username="care_clerk", role=Role.CLERK, stores=[store])
    today = timezone.localdate()
    dormant = MemberFactory(name="王丽", home_store=store, owner=clerk)
    fresh = MemberFactory(name="赵敏", home_store=store, owner=clerk)
    overdue = Task.objects.create(rule="dormant_review", key="b1", member=dormant, store=store, assignee=clerk,
                                  created_on=today - dt.timedelta(days=5), due_on=today - dt.timedelta(days=2),
                                  priority=30, context={"days": 92})
    callback = Task.objects.create(rule="new_member_callback", key="b2", member=fresh, store=store, assignee=clerk,
                                   created_on=today - dt.timedelta(days=2), due_on=today, priority=10)
    return clerk, overdue, callback


def test_clerk_logs_a_contact_from_the_task_list(page, login_as, clerk_with_tasks):
    from playwright.sync_api import expect

    clerk, overdue, callback = clerk_with_tasks
    login_as(page, clerk)
    page.goto("/care/")
    cards = page.locator("article.task")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_have_attribute("id", f"task-{overdue.pk}")  # overdue first, despite its priority
    expect(cards.nth(0)).to_have_class("card task overdue")
    expect(cards.nth(0).locator(".badge.overdue")).to_be_visible()
    expect(cards.nth(1).locator(".badge.overdue")).to_have_count(0)

    card = page.locator(f"#task-{overdue.pk}")
    card.locator("summary").click()
    card.locator("input[value=phone]").check()
    card.locator("input[value=reached]").check()
    card.locator("textarea").fill("最近搬到浦东了")
    card.locator("button[type=submit]").click()
    # the dormancy reason is missing: the card comes back with the error, nothing typed is lost
    expect(card.locator(".field.has-error")).to_have_count(1)
    expect(card.locator("textarea")).to_have_value("最近搬到浦东了")
    expect(card.locator("input[value=reached]")).to_be_checked()
    assert Contact.objects.count() == 0

    card.locator("input[value=moved]").check()
    card.locator("button[type=submit]").click()
    expect(page.locator(f"#task-{overdue.pk}")).to_have_count(0)
    expect(page.locator("#care-flash li")).to_contain_text("王丽")
    expect(page.locator("article.task")).to_have_count(1)
    contact = Contact.objects.get()
    assert (contact.reason, contact.notes, contact.task_id) == ("moved", "最近搬到浦东了", overdue.pk)
    assert Task.objects.get(pk=overdue.pk).status == TaskStatus.DONE
    page.problems.assert_none()
