"""The demo has gifts with stock, complaints at different steps (one escalated, one closed) and survey answers."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from membercare.service.models import Complaint, Gift, GiftIssue, GiftStock, Survey

pytestmark = pytest.mark.django_db


def test_demo_service_data():
    call_command("demo_load", members=200, seed=11, today=dt.date(2025, 6, 15), stdout=io.StringIO())
    assert Gift.objects.count() == 4 and GiftStock.objects.filter(quantity__gt=0).exists()
    states = set(Complaint.objects.values_list("state", flat=True))
    assert {"closed", "listen"} <= states and len(states) >= 3
    assert Complaint.objects.filter(escalated_at__isnull=False).exists()
    assert GiftIssue.objects.filter(reason="compensation").exists()
    assert Survey.objects.filter(answered_at__isnull=False).count() >= 3
    # after-sales: one overdue in the workshop, one ready with its call task open, one just taken in
    from membercare.care.models import TaskStatus
    from membercare.service.models import ServiceOrder

    orders = {o.status: o for o in ServiceOrder.objects.select_related("ready_task")}
    assert set(orders) == {"received", "in_workshop", "ready"}
    assert orders["in_workshop"].promised_on < dt.date(2025, 6, 15)
    assert orders["ready"].ready_task.status == TaskStatus.OPEN
