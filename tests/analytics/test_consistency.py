"""One definition per measure (issue 23): every figure shown on two pages reads the same on each, for the same
store and period, and counts what happened today after the nightly facts were built.

The pages: the manager's dashboard, HQ's dashboard filtered to the store, the dashboard's .xlsx, the store
monthly report and its .xlsx, the store task view, a clerk's own dashboard and the campaign results page. Each
shared figure is read from every page that shows it and compared; the right answer, worked out by hand, is
written here too, so a definition changed on one page alone, or a page that stops counting today, fails."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from membercare.analytics.facts import analytics_refresh
from membercare.campaigns.models import Coupon, CouponBatch, CouponHoldout, CouponIssue
from membercare.care.models import Task, TaskStatus
from membercare.loyalty.models import LoyaltyAccount, PointsEntry
from membercare.sales.models import Receipt
from tests.factories import MemberFactory

from .conftest import TODAY, at

MARCH = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def day(world):
    """The conftest chain, a coupon batch, the nightly run this morning, then today's activity at store A."""
    w = world
    w.batch = CouponBatch.objects.create(name="三月券", brand=w.main, kind="amount", value=100,
                                         valid_from=dt.date(2026, 3, 1), valid_to=dt.date(2026, 3, 31),
                                         created_at=at(dt.date(2026, 2, 25)))
    issue = CouponIssue.objects.create(batch=w.batch, audience={}, seed="t", issued=3,
                                       issued_at=at(dt.date(2026, 3, 1)))
    w.coupons = {m.pk: Coupon.objects.create(batch=w.batch, issue=issue, member=m, code=f"T{i:011d}",
                                             issued_at=issue.issued_at)
                 for i, m in enumerate((w.m1, w.m2, w.m3))}
    CouponHoldout.objects.create(batch=w.batch, issue=issue, member=w.m4)
    # the balance is the ledger's sum: conftest gives m2 a balance of 400 with only a -100 entry, so the 500
    # it lacks is entered (on m2's first day); m4 (registered 10 January) earns 300 in February
    PointsEntry.objects.create(member=w.m2, kind="adjust", points=500, created_at=at(dt.date(2026, 3, 1)))
    PointsEntry.objects.create(member=w.m4, kind="earn", points=300, created_at=at(dt.date(2026, 2, 10)))
    LoyaltyAccount.objects.create(member=w.m4, points=300)
    # m3 (registered at B) earns 600 on r7 at the sub-brand's K: the points are K's, the balance B's member's
    PointsEntry.objects.create(member=w.m3, kind="earn", points=600, created_at=w.r7.sold_at, receipt=w.r7)
    LoyaltyAccount.objects.filter(member=w.m3).update(points=650)
    analytics_refresh()  # the nightly facts, 03:30 today
    # today, 08:00-09:00: m1 buys ¥2,000 at A with the coupon, earns 2,000 points and uses 1,000
    r8 = Receipt.objects.create(number="r8", store=w.a, member=w.m1, sold_at=at(TODAY, 8), tier="elite",
                                total_full_price=Decimal("2000.00"), total_paid=Decimal("2000.00"), clerk=w.clerk)
    PointsEntry.objects.create(member=w.m1, kind="earn", points=2000, created_at=at(TODAY, 8), receipt=r8)
    PointsEntry.objects.create(member=w.m1, kind="redeem", points=-1000, created_at=at(TODAY, 8), receipt=r8)
    LoyaltyAccount.objects.filter(member=w.m1).update(points=770 + 2000 - 1000)
    Coupon.objects.filter(pk=w.coupons[w.m1.pk].pk).update(redeemed_at=at(TODAY, 8))
    # the clerk closes the overdue t3 (late) and a task due today (on time), leaves t9 overdue; a member
    # registers at A
    Task.objects.filter(key="t3").update(status=TaskStatus.DONE, done_at=at(TODAY, 8, 30))
    Task.objects.create(rule="test", key="t8", member=w.m2, store=w.a, assignee=w.clerk, created_on=TODAY,
                        due_on=TODAY, status=TaskStatus.DONE, done_at=at(TODAY, 8, 45))
    Task.objects.create(rule="test", key="t9", member=w.m4, store=w.a, assignee=w.clerk, created_on=TODAY,
                        due_on=dt.date(2026, 3, 12))  # still open: overdue
    MemberFactory(name="张五", phone="13900000005", home_store=w.a, created_at=at(TODAY, 8, 50))
    return w


# the right answers for store A in March, today included
EXPECTED = {
    "net_sales": "¥3,600.00",  # 1000 + 500 + 300 - 200 + 2000 today
    "member_sales": "¥3,300.00",
    "vip_share": "91.7%",  # 3300 / 3600
    "receipts": "4",
    "average_receipt": "¥950.00",  # (1000 + 500 + 300 + 2000) / 4
    "new_members": "3",  # m1, m2 on 1 March, 张五 today
    "members": "4",  # m1, m2, m4, 张五 registered at A
    "points_issued": "3,000",  # 1000 + 2000 today
    "points_redeemed": "1,100",  # 100 + the 1,000 used a minute ago
    "points_outstanding": "2,470",  # m1 1770 + m2 400 + m4 300
}
# the clerk: due t1, t2, t3, t8, t9 (t4 cancelled, t7 not due yet); on time t1, t8 (on time / done would be 50%)
ON_TIME = "40.0%"
CAMPAIGN = {"reached": "2", "responded": "1", "sales": "¥3,300.00", "per_member": "¥1,650.00",
            "holdout_per_member": "¥0.00"}  # A's members m1 (800 + 2000), m2 (500); hold-out m4


def _html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def _row(html: str, attribute: str) -> dict[str, str]:
    """The data-col cells of the table row carrying `attribute` (e.g. data-staff="clerk_a")."""
    start = html.index(attribute)
    row = html[start:html.index("</tr>", start)]
    return {k: v.strip() for k, v in re.findall(r'data-col="(\w+)">(?:<strong>⚠ )?([^<]*)', row)}


def _tiles(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-key="(\w+)"><div class="label">[^<]*</div><div class="value" data-kind="\w+">'
                           r"([^<]*)</div>", html))


def _figures(html: str) -> dict[str, str]:
    return {k: v.strip() for k, v in re.findall(r'data-figure="(\w+)">([^<]*)', html)}


def _xlsx(response) -> dict[str, list[tuple]]:
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return {name: list(book[name].iter_rows(min_row=2, values_only=True)) for name in book.sheetnames}


def _as_text(value, kind: str) -> str:
    """A spreadsheet cell written as the pages write the figure."""
    if kind == "money":
        return f"¥{Decimal(str(value)):,.2f}"
    if kind == "percent":
        return f"{Decimal(str(value)):.1f}%"
    return f"{int(value):,}"


KINDS = {"net_sales": "money", "member_sales": "money", "average_receipt": "money", "vip_share": "percent"}


def test_every_shared_figure_agrees_across_pages(client, day):
    w = day
    store = {"store": w.a.pk}
    seen: dict[str, dict[str, str]] = {key: {} for key in [*EXPECTED, "on_time_rate"]}

    def note(page: str, values: dict[str, str]) -> None:
        for key, text in values.items():
            if key in seen:
                seen[key][page] = text

    client.force_login(w.manager)
    manager = _html(client.get(reverse("dashboard"), {**MARCH, **store}))
    note("manager dashboard", _tiles(manager))
    note("manager dashboard", {"on_time_rate": _row(manager, f'data-assignee="{w.clerk.pk}"')["on_time_rate"]})
    report = _html(client.get(reverse("analytics_store_report"), {**store, "month": "2026-03"}))
    note("store report", _figures(report))
    note("store report", {"on_time_rate": _row(report, f'data-assignee="{w.clerk.pk}"')["on_time_rate"]})
    tasks_page = _html(client.get(reverse("care_store"), {**store, "from": "2026-03-01", "to": "2026-03-31"}))
    note("store task view", {"on_time_rate": _row(tasks_page, 'data-staff="clerk_a"')["on_time_rate"]})
    results = _html(client.get(reverse("campaign_results")))
    campaign_tile = _row(manager, f'data-campaign="coupon-{w.batch.pk}"')
    campaign_page = _row(results, f'data-campaign="coupon-{w.batch.pk}"')

    sheets = _xlsx(client.get(reverse("analytics_store_report"), {**store, "month": "2026-03", "format": "xlsx"}))
    summary = {str(label): value for label, value in sheets[_("Summary")]}
    labels = {"net_sales": _("Net sales"), "member_sales": _("Members' sales"),
              "vip_share": _("Members' share of sales (%)"), "receipts": _("Sale receipts"),
              "average_receipt": _("Average receipt"), "new_members": _("New members"),
              "members": _("Members registered at the store"), "points_issued": _("Points issued"),
              "points_redeemed": _("Points redeemed"), "points_outstanding": _("Points outstanding")}
    note("store report .xlsx", {k: _as_text(summary[label], KINDS.get(k, "number")) for k, label in labels.items()})
    [clerk_line] = [r for r in sheets[_("Care tasks")] if r[0] == "小王"]
    note("store report .xlsx", {"on_time_rate": _as_text(clerk_line[5], "percent")})

    dashboard_sheets = _xlsx(client.get(reverse("analytics_export"), {**MARCH, **store}))
    figures = {str(label): value for label, value in dashboard_sheets[_("Figures")]}
    tile_labels = {**labels, "vip_share": _("Members' share of sales"), "members": _("Members")}
    note("dashboard .xlsx", {k: _as_text(figures[label], KINDS.get(k, "number")) for k, label in tile_labels.items()})

    client.force_login(w.specialist)
    hq = _html(client.get(reverse("dashboard"), {**MARCH, **store}))
    note("HQ dashboard, store A", _tiles(hq))
    note("HQ dashboard, store A", {"on_time_rate": _row(hq, f'data-assignee="{w.clerk.pk}"')["on_time_rate"]})

    client.force_login(w.clerk)
    own = _html(client.get(reverse("dashboard"), MARCH))
    note("clerk's own dashboard", {"on_time_rate": _tiles(own)["on_time_rate"]})

    expected = {**EXPECTED, "on_time_rate": ON_TIME}
    for key, pages in seen.items():
        assert len(pages) >= 2, f"{key} is shown on {list(pages)} only"
        assert set(pages.values()) == {expected[key]}, f"{key} differs between pages: {pages}"
    assert len(seen["on_time_rate"]) == 6
    assert {k: campaign_tile[k] for k in CAMPAIGN} == {k: campaign_page[k] for k in CAMPAIGN} == CAMPAIGN


def test_past_month_report_shows_members_and_the_balance_then(client, day):
    """A past month (no snapshot of its own): the members registered by its end and the balance then (the
    balance now less every entry made after it), not blank and 0."""
    w = day
    client.force_login(w.manager)
    february = _figures(_html(client.get(reverse("analytics_store_report"), {"store": w.a.pk, "month": "2026-02"})))
    assert february["members"] == "1"  # m4 (10 January); m1 and m2 registered on 1 March
    assert february["points_outstanding"] == "300"  # m4's; every other entry of A's members came in March
    client.force_login(w.specialist)
    b = _figures(_html(client.get(reverse("analytics_store_report"), {"store": w.b.pk, "month": "2026-02"})))
    assert b["members"] == "1" and b["points_outstanding"] == "0"  # m3's 600 (at K) and 50 came in March


def test_stored_value_figures_agree_between_the_dashboard_and_the_stored_value_books(client, world):
    """Top-ups, stored value spent and balances refunded: the dashboard's tiles and the stored-value books page
    (storedvalue.liability.period_totals, one definition) for the same day and stores, counted by hand."""
    from membercare.storedvalue.refunds import approve_refund, request_refund
    from membercare.storedvalue.topup import top_up

    w = world
    top_up(member=w.m1, amount=Decimal("1000.00"), method="bank_card", store=w.a, by=w.clerk, at=at(TODAY, 8))
    top_up(member=w.m3, amount=Decimal("300.00"), method="cash", store=w.b, by=w.clerk_b, at=at(TODAY, 8))
    refund = request_refund(card=w.m1.stored_value_cards.get(), by=w.clerk, reason="搬家", store=w.a)
    approve_refund(refund=refund, by=w.specialist, method="bank_card", at=at(TODAY, 8, 30))
    today = {"period": "custom", "start": TODAY.isoformat(), "end": TODAY.isoformat()}
    keys = ("sv_top_ups", "sv_spends", "sv_refunds")
    expected = {"A": {"sv_top_ups": "¥1,000.00", "sv_spends": "¥0.00", "sv_refunds": "¥1,000.00"},
                "chain": {"sv_top_ups": "¥1,300.00", "sv_spends": "¥0.00", "sv_refunds": "¥1,000.00"}}
    client.force_login(w.manager)
    tiles = _tiles(_html(client.get(reverse("dashboard"), {**today, "store": w.a.pk})))
    books = _figures(_html(client.get(reverse("stored_value_finance"), {"day": TODAY.isoformat()})))
    assert {k: tiles[k] for k in keys} == {k: books[k] for k in keys} == expected["A"]
    client.force_login(w.specialist)
    tiles = _tiles(_html(client.get(reverse("dashboard"), today)))
    books = _figures(_html(client.get(reverse("stored_value_finance"), {"day": TODAY.isoformat()})))
    assert {k: tiles[k] for k in keys} == {k: books[k] for k in keys} == expected["chain"]
    assert books["liability"] == "¥300.00"  # m3's top-up at B; m1's was paid back, its bonus 100 forfeited
