"""The daily reconciliation of stored value: every card's ledger summed against its balance columns and the
chain's balances against the ledger's liability, in SQL. A run is recorded (StoredValueReconciliation); any
difference is logged at ERROR and shown as a warning on the HQ stored-value page until a clean run follows.
Read-only on the books: it never corrects a balance (finance decides what happened)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from membercare.core.sql import fetch

from . import liability as li
from .models import StoredValueCard, StoredValueEntry, StoredValueReconciliation

log = logging.getLogger("membercare.storedvalue.reconcile")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_LISTED = 100

# cards whose balance columns differ from the sums of their entries (to the cent), one pass over the ledger
_CARDS_OFF = """
    SELECT c.id, c.number, c.principal, c.bonus, COALESCE(s.p, 0), COALESCE(s.b, 0)
    FROM storedvalue_storedvaluecard c
    LEFT JOIN (SELECT card_id, SUM(principal) AS p, SUM(bonus) AS b FROM storedvalue_storedvalueentry
               GROUP BY card_id) s ON s.card_id = c.id
    WHERE ROUND(COALESCE(s.p, 0) - c.principal, 2) <> 0 OR ROUND(COALESCE(s.b, 0) - c.bonus, 2) <> 0
    ORDER BY c.id"""


def _m(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


@contextmanager
def snapshot() -> Iterator[None]:
    """Every read inside sees the books at one moment, so a spend committed between two of them cannot look
    like a difference: a REPEATABLE READ, read-only transaction on PostgreSQL (its snapshot is taken at the
    first read); a read transaction on SQLite (in WAL mode the snapshot of its first read). Inside a caller's
    transaction (a test) the caller's transaction is the snapshot it gets."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def reconcile(day: dt.date | None = None) -> StoredValueReconciliation:
    """Check the books now and record the run for `day` (default yesterday: the nightly job's day). Every
    figure is read in one snapshot; the run is written after it."""
    now = timezone.now()
    day = day or timezone.localdate(now) - dt.timedelta(days=1)
    differences: list[dict] = []
    with snapshot():
        balances = StoredValueCard.objects.aggregate(p=Sum("principal"), b=Sum("bonus"), n=Count("id"))
        ledger = StoredValueEntry.objects.aggregate(p=Sum("principal"), b=Sum("bonus"))
        rows = fetch(_CARDS_OFF)
        liability_on_day = li.outstanding(day).total
    for card_id, number, principal, bonus, ledger_p, ledger_b in rows[:MAX_LISTED]:
        differences.append({"card": card_id, "number": number, "principal": str(_m(principal)),
                            "bonus": str(_m(bonus)), "ledger_principal": str(_m(ledger_p)),
                            "ledger_bonus": str(_m(ledger_b))})
    balances_total, ledger_total = _m(balances["p"]) + _m(balances["b"]), _m(ledger["p"]) + _m(ledger["b"])
    if balances_total != ledger_total:
        differences.append({"total": True, "balances": str(balances_total), "ledger": str(ledger_total)})
    run = StoredValueReconciliation.objects.create(
        day=day, ran_at=now, cards_checked=balances["n"], cards_off=len(rows),
        balances_total=balances_total, ledger_total=ledger_total,
        liability_on_day=liability_on_day, differences=differences)
    if differences:
        log.error("stored-value reconciliation %s: %d card(s) differ from their ledger, balances %s vs ledger %s: %s",
                  day.isoformat(), len(rows), balances_total, ledger_total, differences[:10])
    else:
        log.info("stored-value reconciliation %s: %d cards, books agree (%s)", day.isoformat(), run.cards_checked,
                 ledger_total)
    return run


def latest_run() -> StoredValueReconciliation | None:
    return StoredValueReconciliation.objects.order_by("-ran_at", "-pk").first()
