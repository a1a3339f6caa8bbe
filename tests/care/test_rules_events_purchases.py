"""New stock and campaign notices (care events), replenishment of consumables, learning the surname."""

import datetime as dt

import pytest
from django.utils import timezone

from membercare.care.models import CareEvent
from membercare.org.models import Role
from tests.factories import (
    BrandFactory,
    ProductFactory,
    ReceiptFactory,
    ReceiptLineFactory,
    SeriesFactory,
    StaffFactory,
)

from .conftest import at, keys, tasks

D = dt.date


def event(kind: str, starts_on: dt.date, *, entered: dt.date, **fields) -> CareEvent:
    return CareEvent.objects.create(kind=kind, title=fields.pop("title", "秋季新品"), starts_on=starts_on,
                                    created_at=at(entered), **fields)


@pytest.mark.django_db
class TestNewStock:
    def test_buyers_of_the_series_in_class_a_with_phone_consent(self, member_with, run_rule, sell):
        golf = SeriesFactory(code="golf", name="高尔夫系列")
        golfer = member_with(follow_up="A", consent_phone=True)
        sell(golfer, D(2026, 3, 1), product=ProductFactory(series=golf))
        suit_buyer = member_with(follow_up="A", consent_phone=True)
        sell(suit_buyer, D(2026, 3, 1))
        no_consent = member_with(follow_up="A", consent_phone=False)
        sell(no_consent, D(2026, 3, 1), product=ProductFactory(series=golf))
        b_golfer = member_with(follow_up="B", consent_phone=True)
        sell(b_golfer, D(2026, 3, 1), product=ProductFactory(series=golf))
        ev = event(CareEvent.Kind.NEW_STOCK, D(2026, 9, 10), entered=D(2026, 9, 1), series=golf)
        assert run_rule("new_stock_call", D(2026, 9, 6)) == 0
        assert run_rule("new_stock_call", D(2026, 9, 7)) == 1
        (task,) = tasks("new_stock_call")
        assert (task.member_id, task.key, task.due_on) == (golfer.pk, str(ev.pk), D(2026, 9, 10))
        assert task.context == {"event": "秋季新品", "event_id": ev.pk, "starts_on": "2026-09-10"}
        assert run_rule("new_stock_call", D(2026, 9, 11)) == 0

    def test_brand_and_event_without_brand_or_series(self, member_with, run_rule, sell):
        sub = BrandFactory(code="JUEDU", name="爵度")
        juedu = member_with(follow_up="A", consent_phone=True)
        sell(juedu, D(2026, 3, 1), product=ProductFactory(brand=sub))
        other = member_with(follow_up="A", consent_phone=True)
        sell(other, D(2026, 3, 1))
        by_brand = event(CareEvent.Kind.NEW_STOCK, D(2026, 9, 10), entered=D(2026, 9, 1), brand=sub)
        everyone = event(CareEvent.Kind.NEW_STOCK, D(2026, 9, 10), entered=D(2026, 9, 1), title="全店上新")
        assert run_rule("new_stock_call", D(2026, 9, 8)) == 3
        assert keys("new_stock_call") == {(juedu.pk, str(by_brand.pk)), (juedu.pk, str(everyone.pk)),
                                          (other.pk, str(everyone.pk))}


@pytest.mark.django_db
class TestCampaignNotice:
    def test_five_days_before_to_abcd_with_sms_consent(self, member_with, run_rule, record_run):
        # seed 000: old members and those with potential (D, to develop) hear of a promotion 5 days ahead
        members = [member_with(follow_up=c, consent_sms=True) for c in "ABCD"]
        member_with(follow_up="A", consent_sms=False)
        ev = event(CareEvent.Kind.CAMPAIGN, D(2026, 10, 10), entered=D(2026, 9, 20), title="国庆折上折")
        assert run_rule("campaign_notice", D(2026, 10, 4)) == 0
        assert run_rule("campaign_notice", D(2026, 10, 5)) == 4
        assert keys("campaign_notice") == {(m.pk, str(ev.pk)) for m in members}
        assert {t.due_on for t in tasks("campaign_notice")} == {D(2026, 10, 5)}
        record_run(D(2026, 10, 5), "campaign_notice")
        member_with(follow_up="A", consent_sms=True)
        assert run_rule("campaign_notice", D(2026, 10, 6)) == 0  # the event's notices were made

    def test_entered_late_still_notified_due_at_once_but_not_on_the_day(self, member_with, run_rule, record_run):
        member_with(follow_up="A", consent_sms=True)
        record_run(D(2026, 10, 6), "campaign_notice")
        event(CareEvent.Kind.CAMPAIGN, D(2026, 10, 10), entered=D(2026, 10, 7))
        last_minute = event(CareEvent.Kind.CAMPAIGN, D(2026, 10, 8), entered=D(2026, 10, 8))
        assert run_rule("campaign_notice", D(2026, 10, 8)) == 1
        assert {t.due_on for t in tasks("campaign_notice")} == {D(2026, 10, 8)}
        assert not tasks("campaign_notice", key=str(last_minute.pk))


@pytest.mark.django_db
class TestReplenishment:
    def buy_every(self, sell, member, start, gaps, product):
        day = start
        sell(member, day, product=product)
        for gap in gaps:
            day += dt.timedelta(days=gap)
            sell(member, day, product=product)
        return day

    def test_own_cycle_median_and_window(self, member_with, run_rule, sell):
        formula = ProductFactory(name="皮具护理套装", is_consumable=True)
        member = member_with(last=D(2026, 5, 1))
        last = self.buy_every(sell, member, D(2026, 3, 1), [21, 20, 40], formula)  # median gap 21
        assert last == D(2026, 5, 21)
        nxt = last + dt.timedelta(days=21)  # 2026-06-11
        assert run_rule("replenishment", nxt - dt.timedelta(days=4)) == 0
        assert run_rule("replenishment", nxt - dt.timedelta(days=3)) == 1
        (task,) = tasks("replenishment")
        assert (task.key, task.due_on) == ("2026-05-21", D(2026, 6, 10))
        assert task.context == {"product": "皮具护理套装", "days": 21, "next_on": "2026-06-11",
                                "last_purchase": "2026-05-21"}
        assert run_rule("replenishment", nxt) == 0
        assert run_rule("replenishment", nxt + dt.timedelta(days=1)) == 0

    def test_even_count_median_missed_days_and_too_few_purchases(self, member_with, run_rule, sell):
        soap = ProductFactory(is_consumable=True)
        even = member_with(last=D(2026, 5, 1))
        last = self.buy_every(sell, even, D(2026, 1, 1), [10, 20, 30, 40], soap)  # median (20+30)/2 = 25
        assert last == D(2026, 4, 11)
        two = member_with(last=D(2026, 5, 1))
        self.buy_every(sell, two, D(2026, 4, 1), [20], soap)  # 2 purchases: no cycle yet
        not_consumable = member_with(last=D(2026, 5, 1))
        self.buy_every(sell, not_consumable, D(2026, 3, 1), [20, 20, 20], ProductFactory())
        assert run_rule("replenishment", D(2026, 5, 6)) == 1  # next 05-06: made up on the day itself
        assert tasks("replenishment")[0].member_id == even.pk
        assert tasks("replenishment")[0].due_on == D(2026, 5, 6)

    def test_same_day_purchases_count_once_and_returns_not_at_all(self, member_with, run_rule, sell):
        soap = ProductFactory(is_consumable=True)
        member = member_with(last=D(2026, 5, 1))
        first = self.buy_every(sell, member, D(2026, 3, 1), [14, 0, 14, 14], soap)  # 4 distinct days, gaps 14
        assert first == D(2026, 4, 12)
        sold = sell(member, D(2026, 3, 2), product=soap)
        returned = ReceiptFactory(member=member, store=sold.store, original=sold, sold_at=at(D(2026, 4, 20)))
        ReceiptLineFactory(receipt=returned, product=soap, quantity=-1)  # a return is not a purchase day
        assert run_rule("replenishment", D(2026, 4, 22)) == 0
        assert run_rule("replenishment", D(2026, 4, 23)) == 1  # gaps 1, 13, 14, 14: median 14 -> 04-26
        assert tasks("replenishment")[0].key == "2026-04-12"


@pytest.mark.django_db
class TestLearnSurname:
    def test_third_visit_with_the_same_clerk(self, member_with, run_rule, sell, store, clerk, record_run):
        member = member_with(last=D(2026, 5, 1))
        colleague = StaffFactory(role=Role.CLERK, stores=[store])
        for day in (D(2026, 4, 1), D(2026, 4, 20)):
            sell(member, day, clerk=clerk)
        sell(member, D(2026, 4, 25), clerk=colleague)
        assert run_rule("learn_surname", D(2026, 4, 26)) == 0
        sell(member, D(2026, 5, 1), clerk=clerk)
        assert run_rule("learn_surname", D(2026, 5, 1)) == 1
        (task,) = tasks("learn_surname")
        assert (task.member_id, task.key, task.assignee_id, task.channel) == (member.pk, f"clerk:{clerk.pk}",
                                                                             clerk.pk, "visit")
        assert task.context == {"visits": 3, "clerk_id": clerk.pk}
        record_run(D(2026, 5, 1), "learn_surname")
        sell(member, D(2026, 5, 2), clerk=clerk)
        assert run_rule("learn_surname", D(2026, 5, 2)) == 0

    def test_the_pairs_of_the_new_receipts_only(self, member_with, run_rule, sell, store, clerk, monkeypatch):
        """Issue 20: once the counter exists, a run looks only at the pairs its new receipts touched."""
        from membercare.care.rules import incremental

        monkeypatch.setattr(incremental, "LOOKBACK", 0)  # the cursor alone: only receipts posted since
        member, other = member_with(last=D(2026, 5, 1)), member_with(last=D(2026, 5, 1))
        for day in (D(2026, 4, 28), D(2026, 4, 29)):
            sell(member, day, clerk=clerk)
            sell(other, day, clerk=clerk)
        assert run_rule("learn_surname", D(2026, 4, 29)) == 0  # builds the counter: two visits each
        sell(member, D(2026, 4, 30), clerk=clerk)
        assert run_rule("learn_surname", D(2026, 4, 30)) == 1
        assert [t.member_id for t in tasks("learn_surname")] == [member.pk]
        sell(other, D(2026, 4, 20), clerk=clerk)  # a late upload, dated in the window: counts
        assert run_rule("learn_surname", D(2026, 5, 1)) == 1
        assert sorted(t.member_id for t in tasks("learn_surname")) == sorted([member.pk, other.pk])

    def test_clerk_who_left_gets_no_reminder(self, member_with, run_rule, sell, clerk):
        member = member_with(last=D(2026, 5, 1))
        for day in (1, 2, 3):
            sell(member, D(2026, 5, day), clerk=clerk)
        clerk.is_active = False
        clerk.save()
        assert run_rule("learn_surname", D(2026, 5, 3)) == 0

    def test_old_visits_count_when_the_clerk_serves_again(self, member_with, run_rule, sell, clerk):
        member = member_with(last=D(2026, 5, 1))
        for day in (D(2025, 1, 1), D(2025, 6, 1)):
            sell(member, day, clerk=clerk)
        sell(member, D(2026, 5, 1), clerk=clerk)
        assert run_rule("learn_surname", D(2026, 5, 2)) == 1
        assert timezone.localdate(tasks("learn_surname")[0].member.receipts.latest("sold_at").sold_at) == D(2026, 5, 1)
