"""The dormancy-reasons report (care.reasons): counts per reason and group checked against a plain-Python count
over the same contacts, for every grouping and filter; the page's scope per role and its .xlsx."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from membercare.care.models import Contact, DormancyReason, Task
from membercare.care.reasons import (
    NO_TIER,
    ReasonFilters,
    ReasonReportError,
    parse_month,
    reason_report,
)
from membercare.care.selectors import card_order
from membercare.loyalty.models import Card, CardStatus
from membercare.org.models import Role
from tests.factories import MemberFactory, StaffFactory, StoreFactory

TZ = ZoneInfo("Asia/Shanghai")
REASONS = list(DormancyReason.values)
RULES = ["dormant_review", "sleeping_call", "follow_up", None]
STAGE = {"dormant_review": "dormant", "sleeping_call": "sleeping"}


def _chain(seed: int, n_contacts: int = 60):
    """Stores, clerks, members with random cards, and contacts with random reasons, times and tasks; returns
    the plain facts of every contact: (store, clerk, month, tier, stage, reason), reason "" included."""
    rnd = random.Random(seed)
    stores = [StoreFactory() for _ in range(3)]
    clerks = [StaffFactory(role=Role.CLERK, stores=[s]) for s in stores for _ in range(2)]
    members, tiers = [], {}
    for i in range(12):
        member = MemberFactory(home_store=rnd.choice(stores))
        kinds = rnd.sample([*card_order(), None, None], k=rnd.randint(0, 2))
        for j, kind in enumerate(k for k in kinds if k):
            status = rnd.choice([CardStatus.ACTIVE, CardStatus.ACTIVE, CardStatus.VOID])
            Card.objects.create(number=f"C{seed}{i:03d}{j}", member=member, kind=kind, status=status,
                                brand=member.home_store.brand, issued_at=timezone.now())
        active = [c.kind for c in Card.objects.filter(member=member, status=CardStatus.ACTIVE)]
        tiers[member.pk] = min(active, key=card_order().__getitem__) if active else NO_TIER
        members.append(member)
    facts = []
    for k in range(n_contacts):
        member, clerk = rnd.choice(members), rnd.choice(clerks)
        store = clerk.stores.first()
        # around month ends, so the local month (Asia/Shanghai) differs from the UTC month
        day = dt.date(2025, rnd.randint(1, 12), 1) + dt.timedelta(days=rnd.choice([-1, 0, 14]))
        at = dt.datetime(day.year, day.month, day.day, rnd.choice([0, 7, 23]), 30, tzinfo=TZ)
        rule = rnd.choice(RULES)
        task = None
        if rule:
            task = Task.objects.create(rule=rule, key=f"k{k}", member=member, store=store, assignee=clerk,
                                       created_on=day, due_on=day, status="done")
        reason = rnd.choice([*REASONS, ""])
        Contact.objects.create(member=member, staff=clerk, store=store, task=task, at=at, channel="phone",
                               outcome="reached", reason=reason)
        facts.append({"store": store.pk, "clerk": clerk.pk, "month": at.strftime("%Y-%m"), "tier": tiers[member.pk],
                      "stage": STAGE.get(rule, "other"), "reason": reason, "day": at.date()})
    return stores, clerks, facts


def _expected(facts, *, group_by, month_from, month_to, store_ids=None, clerk_id=None, tier=""):
    counts: Counter = Counter()
    for f in facts:
        if not f["reason"] or not month_from <= f["day"].replace(day=1) <= month_to:
            continue
        if store_ids is not None and f["store"] not in store_ids:
            continue
        if clerk_id and f["clerk"] != clerk_id or tier and f["tier"] != tier:
            continue
        counts[(f[group_by], f["reason"])] += 1
    return counts


def _actual(report):
    return Counter({(row.key, reason): n for row in report.rows for reason, n in row.counts.items() if n})


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_counts_match_a_plain_count_for_every_grouping_and_filter(seed):
    stores, clerks, facts = _chain(seed)
    rnd = random.Random(seed * 7)
    year = (dt.date(2024, 12, 1), dt.date(2025, 12, 1))
    cases = [{}, {"store_ids": [stores[0].pk]}, {"store_ids": [s.pk for s in stores[1:]]},
             {"clerk_id": rnd.choice(clerks).pk}, {"tier": NO_TIER}, {"tier": rnd.choice(list(card_order()))},
             {"store_ids": [stores[2].pk], "tier": rnd.choice([*card_order(), NO_TIER])}]
    for group_by in ("month", "store", "clerk", "tier", "stage"):
        for case in cases:
            for month_from, month_to in (year, (dt.date(2025, 3, 1), dt.date(2025, 6, 1))):
                report = reason_report(ReasonFilters(month_from=month_from, month_to=month_to, group_by=group_by,
                                                     **case))
                expected = _expected(facts, group_by=group_by, month_from=month_from, month_to=month_to, **case)
                assert _actual(report) == expected, (group_by, case, month_from)
                assert report.total == sum(expected.values())
                assert report.totals == dict(_sum_by_reason(expected))
                assert [row.total for row in report.rows] == [
                    sum(n for (g, _r), n in expected.items() if g == row.key) for row in report.rows]


def _sum_by_reason(expected: Counter) -> Counter:
    out: Counter = Counter()
    for (_g, reason), n in expected.items():
        out[reason] += n
    return out


@pytest.mark.django_db
def test_a_contact_counts_in_its_local_month():
    store = StoreFactory()
    clerk = StaffFactory(stores=[store])
    member = MemberFactory(home_store=store)
    # 2025-03-31 23:30 in Shanghai is 15:30 UTC the same day; 2025-04-01 00:30 is 2025-03-31 16:30 UTC
    for hour, day in ((23, dt.date(2025, 3, 31)), (0, dt.date(2025, 4, 1))):
        Contact.objects.create(member=member, staff=clerk, store=store, at=dt.datetime.combine(
            day, dt.time(hour, 30), tzinfo=TZ), channel="phone", outcome="reached", reason="moved")
    report = reason_report(ReasonFilters(month_from=dt.date(2025, 3, 1), month_to=dt.date(2025, 4, 1)))
    assert [(row.key, row.counts) for row in report.rows] == [("2025-03", {"moved": 1}), ("2025-04", {"moved": 1})]
    april = reason_report(ReasonFilters(month_from=dt.date(2025, 4, 1), month_to=dt.date(2025, 4, 1)))
    assert april.total == 1


@pytest.mark.django_db  # the cards a filter may name are the programme's levels
def test_bad_filters_are_refused_with_a_message():
    with pytest.raises(ReasonReportError, match="年-月"):
        parse_month("2025/03")
    with pytest.raises(ReasonReportError):
        parse_month("2025-13")
    with pytest.raises(ReasonReportError):
        ReasonFilters(month_from=dt.date(2025, 5, 1), month_to=dt.date(2025, 4, 1))
    with pytest.raises(ReasonReportError):
        ReasonFilters(month_from=dt.date(2020, 1, 1), month_to=dt.date(2025, 4, 1))
    with pytest.raises(ReasonReportError):
        ReasonFilters(month_from=dt.date(2025, 1, 1), month_to=dt.date(2025, 4, 1), group_by="phone")
    with pytest.raises(ReasonReportError):
        ReasonFilters(month_from=dt.date(2025, 1, 1), month_to=dt.date(2025, 4, 1), tier="gold")


# ------------------------------------------------------------------------------------------ the page


@pytest.fixture
def two_stores(store, other_store, manager, clerk):
    other_clerk = StaffFactory(stores=[other_store])
    now = timezone.now()
    for who, where, reason, n in ((clerk, store, "quality", 3), (other_clerk, other_store, "moved", 5)):
        member = MemberFactory(home_store=where)
        for _ in range(n):
            Contact.objects.create(member=member, staff=who, store=where, at=now, channel="phone",
                                   outcome="reached", reason=reason)
    return other_clerk


def _shares(response) -> dict[str, int]:
    report = response.context["report"]
    return {code: n for code, _label, n, _pct in report.shares() if n}


def test_a_manager_sees_their_stores_and_hq_the_chain(client, two_stores, manager, specialist, clerk, other_store):
    client.force_login(manager)
    response = client.get(reverse("care_reasons"))
    assert response.status_code == 200
    assert _shares(response) == {"quality": 3}
    assert "质量" in response.content.decode()
    assert client.get(reverse("care_reasons"), {"store": other_store.pk}).status_code == 403
    assert client.get(reverse("care_reasons"), {"clerk": two_stores.pk}).status_code == 400  # not their clerk
    client.force_login(specialist)
    assert _shares(client.get(reverse("care_reasons"))) == {"quality": 3, "moved": 5}
    assert _shares(client.get(reverse("care_reasons"), {"store": other_store.pk})) == {"moved": 5}
    assert _shares(client.get(reverse("care_reasons"), {"clerk": clerk.pk, "group": "clerk"})) == {"quality": 3}
    client.force_login(clerk)
    assert client.get(reverse("care_reasons")).status_code == 403


def test_bad_month_says_why_in_chinese(client, two_stores, specialist):
    client.force_login(specialist)
    response = client.get(reverse("care_reasons"), {"from": "2025-99"})
    assert response.status_code == 400
    assert "年-月" in response.content.decode()


def test_the_xlsx_has_a_row_per_group_and_the_totals(client, two_stores, specialist, store):
    client.force_login(specialist)
    response = client.get(reverse("care_reasons"), {"group": "store", "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    labels = [str(label) for _code, label in DormancyReason.choices]
    with_labels = dict(zip(rows[0], range(len(rows[0])), strict=True))
    assert rows[0][0] == "门店" and rows[0][1:-1] == labels and rows[0][-1] == "合计"
    by_store = {r[0]: r for r in rows[1:]}
    assert by_store[store.name][with_labels["质量"]] == 3
    assert by_store["合计"][-1] == 8


@pytest.mark.django_db
def test_the_card_order_follows_the_programmes_levels():
    import json

    from membercare.loyalty.programme import DEFAULT_RULES, programme_from_text

    # the default: by rank, 骑士卡 before 精英卡 on the same rank (listed later), the accumulation card last
    assert card_order() == {"diamond": 0, "knight": 1, "elite": 2, "accumulation": 3}
    rules = json.loads(json.dumps(DEFAULT_RULES))
    rules["tiers"] = [
        {**rules["tiers"][0], "code": "silver", "name": "银卡", "rank": 1, "single_receipt_by_series": {},
         "rolling_paid": "3000"},
        {**rules["tiers"][0], "code": "gold", "name": "金卡", "rank": 2, "single_receipt_by_series": {},
         "rolling_paid": "8000", "requires": "silver"},
        {**rules["tiers"][1], "code": "platinum", "name": "白金卡", "rank": 3, "requires": "gold"},
    ]
    order = card_order(programme_from_text(json.dumps(rules)))
    assert sorted(order, key=order.__getitem__) == ["platinum", "gold", "silver", "accumulation"]
