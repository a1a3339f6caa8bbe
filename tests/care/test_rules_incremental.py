"""The purchase rules' incremental tables (care.rules.incremental): consumable days and cycles, clerk visits.

Each is checked against what the rule computed before from the receipts: a sale posted after a run counts
at the next run (also one sold on an earlier day, uploaded late), a return adds nothing, running twice
changes nothing, days leave the window as it moves, and after all that the tables equal a rebuild.
"""

import datetime as dt

import pytest

from membercare.care.models import CareCursor, ClerkVisits, ClerkVisitSeen, ConsumableCycle, ConsumableDay
from membercare.care.rules import incremental
from tests.factories import ProductFactory, ReceiptFactory, ReceiptLineFactory

from .conftest import at, tasks

D = dt.date


def cycles() -> dict[int, tuple]:
    return {c.member_id: (c.last_day, c.gaps, c.cycle, c.next_on, c.product_id)
            for c in ConsumableCycle.objects.all()}


def visits() -> dict[tuple[int, int], int]:
    return {(v.clerk_id, v.member_id): v.visits for v in ClerkVisits.objects.all()}


def rebuilt(day: dt.date) -> tuple[set, dict, dict]:
    """The three tables as a rebuild from every receipt makes them (the cursors are put back after)."""
    saved = list(CareCursor.objects.all())
    CareCursor.objects.filter(name__in=[incremental.DAYS_CURSOR, incremental.CYCLES_CURSOR,
                                        incremental.VISITS_CURSOR]).delete()
    incremental.refresh_consumable_cycles(day, 365)
    incremental.refresh_clerk_visits()
    out = set(ConsumableDay.objects.values_list("member_id", "day", "product_id")), cycles(), visits()
    CareCursor.objects.all().delete()
    CareCursor.objects.bulk_create(saved)
    return out


@pytest.mark.django_db
class TestReplenishmentTables:
    def test_sale_after_a_run_return_twice_and_the_window(self, member_with, run_rule, sell):
        soap = ProductFactory(is_consumable=True, name="洗护液")
        other = ProductFactory()
        member = member_with(last=D(2026, 5, 1))
        for day in (D(2025, 2, 1), D(2026, 3, 1), D(2026, 3, 15)):
            sell(member, day, product=soap)
        assert run_rule("replenishment", D(2026, 3, 20)) == 0  # 2 days in the window: one gap, no cycle yet
        assert cycles()[member.pk] == (D(2026, 3, 15), 1, 14, D(2026, 3, 29), soap.pk)
        assert CareCursor.objects.get(name=incremental.CYCLES_CURSOR).value == D(2026, 3, 20).toordinal()

        sell(member, D(2026, 3, 29), product=soap)  # posted after the run: counted at the next one
        sell(member, D(2026, 3, 30), product=other)  # not a consumable
        sold = sell(member, D(2026, 3, 31), product=soap)
        returned = ReceiptFactory(member=member, store=sold.store, original=sold, sold_at=at(D(2026, 4, 1)))
        ReceiptLineFactory(receipt=returned, product=soap, quantity=-1)  # a return adds no day (the sale stays)
        # days 03-01, 03-15, 03-29, 03-31: gaps 14, 14, 2 -> median 14, next 04-14, reminded from 04-11
        assert run_rule("replenishment", D(2026, 4, 10)) == 0
        assert cycles()[member.pk] == (D(2026, 3, 31), 3, 14, D(2026, 4, 14), soap.pk)
        assert run_rule("replenishment", D(2026, 4, 11)) == 1
        assert run_rule("replenishment", D(2026, 4, 11)) == 0  # twice on a day: nothing new, tables unchanged
        assert cycles()[member.pk] == (D(2026, 3, 31), 3, 14, D(2026, 4, 14), soap.pk)
        (task,) = tasks("replenishment")
        assert (task.key, task.due_on, task.context["days"]) == ("2026-03-31", D(2026, 4, 13), 14)

        # a year on, 2026-03-01 has left the window (the start moved past them): re-read
        assert set(ConsumableDay.objects.filter(member_id=member.pk).values_list("day", flat=True)) == {
            D(2025, 2, 1), D(2026, 3, 1), D(2026, 3, 15), D(2026, 3, 29), D(2026, 3, 31)}
        run_rule("replenishment", D(2027, 3, 10))
        assert cycles()[member.pk] == (D(2026, 3, 31), 2, 8, D(2026, 4, 8), soap.pk)  # gaps 14, 2 -> 8
        assert rebuilt(D(2027, 3, 10))[:2] == (
            set(ConsumableDay.objects.values_list("member_id", "day", "product_id")), cycles())

    def test_late_upload_of_an_earlier_day_and_a_new_consumable(self, member_with, run_rule, sell):
        soap = ProductFactory(is_consumable=True)
        member = member_with(last=D(2026, 5, 1))
        for day in (D(2026, 3, 1), D(2026, 3, 21), D(2026, 4, 10)):
            sell(member, day, product=soap)
        run_rule("replenishment", D(2026, 4, 20))
        assert cycles()[member.pk][1:3] == (2, 20)
        sell(member, D(2026, 3, 11), product=soap)  # sold before the last run, posted after it
        run_rule("replenishment", D(2026, 4, 21))
        assert cycles()[member.pk][1:3] == (3, 10)  # gaps 10, 10, 20
        cream = ProductFactory(name="护手霜")
        sell(member, D(2026, 4, 15), product=cream)
        cream.is_consumable = True  # a product becomes a consumable: its past sales count (tables rebuilt)
        cream.save()
        run_rule("replenishment", D(2026, 4, 22))
        assert cycles()[member.pk] == (D(2026, 4, 15), 4, 10, D(2026, 4, 25), cream.pk)  # gaps 10, 10, 20, 5


@pytest.mark.django_db
class TestClerkVisits:
    def test_sale_after_a_run_return_and_twice(self, member_with, run_rule, sell, clerk, record_run):
        member = member_with(last=D(2026, 5, 1))
        first = sell(member, D(2025, 1, 1), clerk=clerk)
        sell(member, D(2026, 4, 20), clerk=clerk)
        assert run_rule("learn_surname", D(2026, 4, 21)) == 0
        assert visits() == {(clerk.pk, member.pk): 2}
        record_run(D(2026, 4, 21), "learn_surname")
        returned = ReceiptFactory(member=member, store=first.store, clerk=clerk, original=first,
                                  sold_at=at(D(2026, 4, 22)))
        ReceiptLineFactory(receipt=returned, quantity=-1)  # a return is no visit (the sale it returns stays one)
        assert run_rule("learn_surname", D(2026, 4, 22)) == 0
        assert visits() == {(clerk.pk, member.pk): 2}
        record_run(D(2026, 4, 22), "learn_surname")
        sell(member, D(2026, 4, 23), clerk=clerk)  # posted after the run: counted at the next one
        assert run_rule("learn_surname", D(2026, 4, 23)) == 1
        assert run_rule("learn_surname", D(2026, 4, 23)) == 0  # twice: nothing new, the count unchanged
        assert visits() == {(clerk.pk, member.pk): 3}
        assert tasks("learn_surname")[0].context == {"visits": 3, "clerk_id": clerk.pk}
        assert rebuilt(D(2026, 4, 23))[2] == visits()

    def test_a_late_commit_counts_once_and_an_older_counter_is_brought_up(self, member_with, sell, clerk):
        """Issue 20: receipts re-read below the cursor are added only when not seen yet; a counter made before the
        seen receipts were kept (cursor key "") is counted again once, then moves by the difference."""
        member = member_with(last=D(2026, 5, 1))
        sell(member, D(2026, 4, 1), clerk=clerk)
        assert incremental.refresh_clerk_visits() == "full"
        late = sell(member, D(2026, 4, 2), clerk=clerk)
        # the refresh before it read a higher id while this sale was not committed yet: the cursor is past it
        CareCursor.objects.filter(name=incremental.VISITS_CURSOR).update(value=late.pk + 5)
        assert incremental.refresh_clerk_visits() == "incremental"
        assert visits() == {(clerk.pk, member.pk): 2}
        assert incremental.refresh_clerk_visits() == "incremental"
        assert visits() == {(clerk.pk, member.pk): 2}
        CareCursor.objects.filter(name=incremental.VISITS_CURSOR).update(key="")  # a counter of the code before
        ClerkVisitSeen.objects.all().delete()
        ClerkVisits.objects.update(visits=7)  # whatever it held: the re-read pairs are counted from the receipts
        sell(member, D(2026, 4, 3), clerk=clerk)
        incremental.refresh_clerk_visits()
        assert visits() == {(clerk.pk, member.pk): 3}
        assert CareCursor.objects.get(name=incremental.VISITS_CURSOR).key == incremental.SEEN
        sell(member, D(2026, 4, 4), clerk=clerk)
        incremental.refresh_clerk_visits()
        incremental.refresh_clerk_visits()
        assert visits() == {(clerk.pk, member.pk): 4} == rebuilt(D(2026, 4, 4))[2]
