"""The daily reconciliation: clean books raise no alarm; a balance corrupted behind the services' back (a raw
UPDATE) is found, recorded, logged at ERROR, failed by the command and shown on the HQ page; the nightly
schedule runs it."""

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from membercare.storedvalue.models import StoredValueReconciliation
from membercare.storedvalue.reconcile import reconcile
from membercare.storedvalue.tasks import storedvalue_reconcile_task
from membercare.storedvalue.topup import top_up
from tests.factories import MemberFactory

D = Decimal


@pytest.fixture
def cards(chain, member):
    other = MemberFactory(name="李雷", phone="13900009999", home_store=chain.shop)
    a = top_up(member=member, amount=D("1000.00"), method="bank_card", store=chain.shop, by=chain.clerk).card
    b = top_up(member=other, amount=D("300.00"), method="cash", store=chain.shop, by=chain.clerk).card
    return a, b


def test_clean_books_raise_no_alarm(cards, caplog):
    with caplog.at_level(logging.INFO, logger="membercare.storedvalue.reconcile"):
        run = reconcile(dt.date(2026, 6, 1))
    assert run.ok and run.cards_checked == 2 and run.cards_off == 0
    assert run.balances_total == run.ledger_total == D("1400.00")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    call_command("storedvalue_reconcile", "--date", "2026-06-01")  # exits cleanly
    assert storedvalue_reconcile_task("2026-06-01")["ok"] is True


def test_a_corrupted_balance_is_found_recorded_and_alarmed(cards, caplog):
    a, _b = cards
    with connection.cursor() as cur:  # behind the services' back
        cur.execute("UPDATE storedvalue_storedvaluecard SET bonus = bonus + 5 WHERE id = %s", [a.pk])
    with caplog.at_level(logging.INFO, logger="membercare.storedvalue.reconcile"):
        run = reconcile()
    assert not run.ok and run.cards_off == 1
    assert run.differences[0] == {"card": a.pk, "number": a.number, "principal": "1000.00", "bonus": "105.00",
                                  "ledger_principal": "1000.00", "ledger_bonus": "100.00"}
    assert run.differences[1] == {"total": True, "balances": "1405.00", "ledger": "1400.00"}
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and a.number in errors[0].getMessage()
    with pytest.raises(CommandError, match="1 card"):
        call_command("storedvalue_reconcile")
    assert StoredValueReconciliation.objects.count() == 2


def test_a_missing_entry_without_a_balance_change_is_found(cards):
    a, _b = cards
    with connection.cursor() as cur:
        cur.execute("DELETE FROM storedvalue_storedvalueentry WHERE card_id = %s", [a.pk])
    run = reconcile()
    assert run.cards_off == 1 and run.differences[0]["ledger_principal"] == "0.00"


def test_the_nightly_schedule_runs_it():
    from membercare.celery_app import app

    tasks = {e["task"] for e in app.conf.beat_schedule.values()}
    assert "membercare.storedvalue.tasks.storedvalue_reconcile" in tasks
    assert "membercare.storedvalue.tasks.storedvalue_reconcile" in app.tasks
