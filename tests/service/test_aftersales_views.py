"""After-sales pages: the store's list (overdue first), taking an order in from the profile, the order page's
next-step buttons, the permissions on the server, bad input refused next to its field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from membercare.care.models import Task
from membercare.service.aftersales import READY_RULE, service_order_open
from membercare.service.models import ServiceOrder, ServiceStatus
from tests.factories import ReceiptFactory, ReceiptLineFactory

pytestmark = pytest.mark.django_db


def _order(clerk, member, store, days=3, **kw):
    return service_order_open(by=clerk, member=member, store=store, kind="repair", work="换拉链",
                              promised_on=timezone.localdate() + dt.timedelta(days=days), item="皮夹克", **kw)


def _form(member, store, **kw):
    data = {"member": member.pk, "store": store.pk, "kind": "alteration", "receipt_line": "", "item": "西裤",
            "work": "裤长改短2厘米", "promised_on": (timezone.localdate() + dt.timedelta(days=2)).isoformat(),
            "charged": "free", "amount": ""}
    data.update(kw)
    return data


def test_new_order_from_the_profile_with_a_purchase(login, clerk, member, store):
    line = ReceiptLineFactory(receipt=ReceiptFactory(store=store, member=member))
    client = login(clerk)
    profile = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert f"{reverse('service_order_new')}?member={member.pk}" in profile and "新建售后服务单" in profile
    page = client.get(reverse("service_order_new") + f"?member={member.pk}").content.decode()
    assert line.product.name in page
    response = client.post(reverse("service_order_new"), _form(member, store, item="", receipt_line=line.pk,
                                                               charged="charged", amount="35.5"))
    order = ServiceOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("service_order", args=[order.pk])
    assert order.receipt_line == line and order.charged and str(order.amount) == "35.50"
    profile = client.get(reverse("member_detail", args=[member.pk])).content.decode()
    assert order.number in profile


@pytest.mark.parametrize(("kw", "field", "text"), [
    ({"promised_on": "2020-01-01"}, "promised_on", "承诺完成日期不能早于今天"),
    ({"charged": "charged", "amount": "-5"}, "amount", "金额不能为负数"),
    ({"work": "改" * 1001}, "work", "1000"),
    ({"item": "衣" * 101}, "item", "100"),
])
def test_bad_input_is_refused_next_to_the_field(login, clerk, member, store, kw, field, text):
    response = login(clerk).post(reverse("service_order_new"), _form(member, store, **kw))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and text in " ".join(errors[field])
    assert not ServiceOrder.objects.exists()


def test_the_buttons_walk_the_order_and_the_task_follows(login, clerk, member, store):
    order = _order(clerk, member, store)
    client = login(clerk)
    url = reverse("service_order", args=[order.pk])
    assert 'data-action="workshop"' in client.get(url).content.decode()
    for action, status in (("workshop", "received"), ("ready", "in_workshop"), ("collect", "ready")):
        assert client.post(url, {"action": action, "status": status}).status_code == 302
    order.refresh_from_db()
    assert order.status == ServiceStatus.COLLECTED
    assert Task.objects.get(rule=READY_RULE).status == "done"
    # an out-of-date page never takes a step twice
    client.post(url, {"action": "collect", "status": "ready"})
    order.refresh_from_db()
    assert order.status == ServiceStatus.COLLECTED


def test_cancel_needs_a_reason(login, clerk, member, store):
    order = _order(clerk, member, store)
    client = login(clerk)
    url = reverse("service_order", args=[order.pk])
    response = client.post(url, {"action": "cancel", "status": "received", "reason": ""})
    assert response.status_code == 400 and "reason" in response.context["cancel_form"].errors
    client.post(url, {"action": "cancel", "status": "received", "reason": "会员改主意了"})
    order.refresh_from_db()
    assert order.status == ServiceStatus.CANCELLED and order.cancel_reason == "会员改主意了"


def test_other_store_is_refused_and_hq_sees_all(login, clerk, other_clerk, specialist, member, store):
    order = _order(clerk, member, store)
    url = reverse("service_order", args=[order.pk])
    other = login(other_clerk)
    assert other.get(url).status_code == 403
    assert other.post(url, {"action": "workshop", "status": "received"}).status_code == 403
    assert order.number not in other.get(reverse("service_orders")).content.decode()
    assert other.post(reverse("service_order_new"), _form(member, store)).status_code == 400
    order.refresh_from_db()
    assert order.status == ServiceStatus.RECEIVED and ServiceOrder.objects.count() == 1
    hq = login(specialist)
    assert hq.get(url).status_code == 200
    assert order.number in hq.get(reverse("service_orders")).content.decode()


def test_list_puts_overdue_first_and_marks_it(login, clerk, member, store):
    later = _order(clerk, member, store, days=1)
    late = _order(clerk, member, store, days=4)
    ServiceOrder.objects.filter(pk=late.pk).update(promised_on=timezone.localdate() - dt.timedelta(days=1))
    html = login(clerk).get(reverse("service_orders")).content.decode()
    assert html.index(late.number) < html.index(later.number)
    assert f'data-number="{late.number}" class="overdue"' in html
    assert f'data-number="{later.number}" class="overdue"' not in html
    assert "售后服务" in html and reverse("service_orders") in html


def test_every_bad_field_is_reported_at_once(login, clerk, member, store):
    response = login(clerk).post(reverse("service_order_new"), _form(
        member, store, work="", promised_on="2020-01-01", charged="charged", amount="-1"))
    assert response.status_code == 400
    assert {"work", "promised_on", "amount"} <= set(response.context["form"].errors)
    assert not ServiceOrder.objects.exists()


def test_the_dashboard_counts_the_store_orders(login, clerk, manager, member, store, other_store):
    _order(clerk, member, store)
    html = login(manager).get(reverse("dashboard"), {"period": "this_month"}).content.decode()
    assert 'id="tile-aftersales"' in html and "售后服务" in html


def test_another_stores_figures_are_not_shown(login, clerk, other_clerk, member, store):
    _order(clerk, member, store)
    response = login(other_clerk).get(reverse("service_orders"), {"store": store.pk})
    assert response.context["measures"]["opened"] == 0 and not list(response.context["page"])
