"""Dashboards per role with server-side scoping, exports (.xlsx content, logged) and print pages."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from membercare.analytics.facts import analytics_refresh
from membercare.members.models import ExportLog


def login(client, user, english=False):
    client.force_login(user)
    if english:  # the request's own language (LocaleMiddleware), for assertions on English labels
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def tiles(response):
    return {t["key"]: t["value"] for t in response.context["data"]["tiles"]}


@pytest.fixture
def refreshed(world):
    analytics_refresh()
    return world


def test_hq_sees_the_chain(client, refreshed):
    with translation.override("en"):
        response = login(client, refreshed.specialist).get(reverse("dashboard"), {"period": "this_month"})
    assert response.status_code == 200
    assert response.context["role"] == "chain" and response.context["filters"].scope.store_ids is None
    t = tiles(response)
    assert t["net_sales"] == Decimal("3000.00") and t["members"] == 4
    assert b"chart.umd.min.js" in response.content and b"charts-data" in response.content


def test_hq_filters_by_brand_region_and_store(client, refreshed):
    c = login(client, refreshed.specialist)
    with translation.override("en"):
        sub = c.get(reverse("dashboard"), {"brand": refreshed.sub.pk})
        main = c.get(reverse("dashboard"), {"brand": refreshed.main.pk})
        north = c.get(reverse("dashboard"), {"region": refreshed.b.region_id})
        one = c.get(reverse("dashboard"), {"store": refreshed.b.pk})
    assert tiles(sub)["net_sales"] == Decimal("600.00")  # K only
    assert tiles(main)["net_sales"] == Decimal("3000.00")  # the main brand includes its sub-brand's stores
    assert tiles(north)["net_sales"] == Decimal("800.00")
    assert tiles(one)["net_sales"] == Decimal("800.00")


def test_manager_sees_only_own_stores(client, refreshed):
    c = login(client, refreshed.manager)
    with translation.override("en"):
        response = c.get(reverse("dashboard"))
    assert response.context["role"] == "stores"
    assert response.context["filters"].scope.store_ids == (refreshed.a.pk,)
    assert tiles(response)["net_sales"] == Decimal("1600.00")
    assert c.get(reverse("dashboard"), {"store": refreshed.b.pk}).status_code == 403
    assert c.get(reverse("dashboard"), {"region": refreshed.b.region_id}).status_code == 403
    assert c.get(reverse("analytics_store_report"), {"store": refreshed.b.pk}).status_code == 403


def test_clerk_sees_own_work_only(client, refreshed):
    c = login(client, refreshed.clerk)
    with translation.override("en"):
        response = c.get(reverse("dashboard"))
    assert response.context["role"] == "own"
    t = tiles(response)
    assert t["my_sales"] == Decimal("1600.00") and t["tasks_due"] == 3 and t["my_members"] == 3
    assert "net_sales" not in t
    assert c.get(reverse("analytics_migration")).status_code == 403
    assert c.get(reverse("analytics_vip_list")).status_code == 403
    assert c.get(reverse("dashboard"), {"store": refreshed.b.pk}).status_code == 403


def test_dashboard_export_xlsx(client, refreshed):
    with translation.override("en"):
        response = login(client, refreshed.manager, english=True).get(reverse("analytics_export"))
        assert response.status_code == 200
        workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    figures = {row[0]: row[1] for row in workbook["Figures"].iter_rows(min_row=2, values_only=True)}
    assert figures["Net sales"] == 1600 and figures["Members' share of sales"] == 81.3
    assert "Sales per week" in workbook.sheetnames


def test_store_monthly_report_xlsx_and_print(client, refreshed):
    c = login(client, refreshed.manager, english=True)
    with translation.override("en"):
        page = c.get(reverse("analytics_store_report"), {"store": refreshed.a.pk, "month": "2026-03"})
        response = c.get(reverse("analytics_store_report"), {"store": refreshed.a.pk, "month": "2026-03",
                                                              "format": "xlsx"})
        workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert page.status_code == 200 and b"@media print" not in page.content
    assert b"analytics/analytics.css" in page.content  # the print layout's stylesheet
    summary = {row[0]: row[1] for row in workbook["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Net sales"] == 1600 and summary["New members"] == 2 and summary["Points issued"] == 1000
    assert summary["Elite card"] == 1
    tasks = list(workbook["Care tasks"].iter_rows(min_row=2, values_only=True))
    assert tasks[0][:5] == ("小王", 3, 1, 1, 1)
    log = ExportLog.objects.get(kind="store_monthly")  # logged like every other export
    assert log.exported_by == refreshed.manager and log.filters == {"store": refreshed.a.pk, "month": "2026-03"}


def test_vip_list_page_xlsx_logged_and_masked(client, refreshed):
    c = login(client, refreshed.manager, english=True)
    params = {"brand": refreshed.main.pk, "start": "2026-01-01", "end": "2026-03-31"}
    page = c.get(reverse("analytics_vip_list"), params)
    assert [r.member.name for r in page.context["rows"]] == ["张一", "张二"]  # the manager sees store A only
    from membercare.loyalty.models import CardKind

    codes = set(CardKind.values)
    cards = [r.card for r in page.context["rows"]]
    assert any(cards) and not set(cards) & codes, cards  # a level's name, never its code (issue 18)
    with translation.override("en"):
        response = c.get(reverse("analytics_vip_list"), {**params, "format": "xlsx"})
        workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.iter_rows(min_row=2, values_only=True))
    assert rows[0][:4] == (1, refreshed.m1.member_no, "张一", "139****0001")
    assert rows[0][6:11] == (800, 1, 1000, 0, 0)  # net 1000 - 200, one sale receipt, 1000 points earned
    log = ExportLog.objects.get(kind="vip_statement")
    assert log.row_count == 2 and log.exported_by == refreshed.manager and not log.full_data


def test_vip_list_for_hq_covers_the_brand_and_sub_brand(client, refreshed):
    page = login(client, refreshed.specialist).get(reverse("analytics_vip_list"), {
        "brand": refreshed.main.pk, "start": "2026-01-01", "end": "2026-03-31"})
    assert [(r.member.name, r.spend) for r in page.context["rows"]] == [
        ("张三", Decimal("1000.00")), ("张一", Decimal("800.00")), ("张二", Decimal("500.00"))]
    assert page.context["rows"][0].phone == "13900000003"  # HQ sees full phones
    min_spend = login(client, refreshed.specialist).get(reverse("analytics_vip_list"), {
        "brand": refreshed.main.pk, "start": "2026-01-01", "end": "2026-03-31", "min_spend": "800"})
    assert len(min_spend.context["rows"]) == 2


def test_large_vip_export_runs_as_a_job(client, refreshed, settings, tmp_path):  # noqa: F811 (the fixture)
    settings.MEDIA_ROOT = tmp_path
    c = login(client, refreshed.specialist)
    response = c.get(reverse("analytics_vip_list"), {"brand": refreshed.main.pk, "start": "2026-01-01",
                                                     "end": "2026-03-31", "limit": "1000", "format": "xlsx"})
    job = response.context["job"]
    assert job.status == "done" and job.result["rows"] == 3 and job.total == 3
    download = c.get(job.result["url"])
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert workbook.active.max_row == 4
    assert login(client, refreshed.manager).get(job.result["url"]).status_code == 403


def test_member_statement_prints(client, refreshed):
    with translation.override("en"):
        response = login(client, refreshed.clerk, english=True).get(
            reverse("analytics_member_statement", args=[refreshed.m1.pk]), {"start": "2026-01-01", "end": "2026-03-31"})
    s = response.context["s"]
    assert (s["spend"], s["receipts"], s["points_earned"], s["points_reversed"], s["points_expired"]) == (
        Decimal("800.00"), 1, 1000, 200, 30)
    assert b"Annual statement" in response.content and b"139****0001" in response.content


def test_profile_links_the_statement(client, refreshed):
    profile = login(client, refreshed.clerk).get(reverse("member_detail", args=[refreshed.m1.pk]))
    assert reverse("analytics_member_statement", args=[refreshed.m1.pk]).encode() in profile.content


def test_birthday_audit_print_page(client, refreshed):
    assert login(client, refreshed.manager).get(reverse("analytics_birthday_print")).status_code == 403
    response = login(client, refreshed.specialist).get(reverse("analytics_birthday_print"),
                                                       {"since": "2026-03-01", "until": "2026-03-31"})
    assert response.status_code == 200 and response.context["filters"]["since"] == dt.date(2026, 3, 1)
    audit = client.get(reverse("birthday_audit"))
    assert reverse("analytics_birthday_print").encode() in audit.content


def test_nav_links_the_dashboard(client, refreshed):
    response = login(client, refreshed.clerk).get(reverse("member_search"))
    assert reverse("dashboard").encode() in response.content


def test_reports_write_formula_like_names_as_text(client, refreshed):
    from membercare.members.models import Member
    from membercare.org.models import Staff

    Member.objects.filter(pk=refreshed.m1.pk).update(name="=HYPERLINK(\"http://evil.example\")")
    Staff.objects.filter(display_name="小王").update(display_name="@SUM(A1)")
    c = login(client, refreshed.manager, english=True)
    params = {"brand": refreshed.main.pk, "start": "2026-01-01", "end": "2026-03-31", "format": "xlsx"}
    for response in (c.get(reverse("analytics_vip_list"), params),
                     c.get(reverse("analytics_store_report"), {"store": refreshed.a.pk, "month": "2026-03",
                                                               "format": "xlsx"}),
                     c.get(reverse("analytics_export"))):
        workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
        assert not [c.coordinate for ws in workbook for row in ws.iter_rows() for c in row if c.data_type == "f"]
    vip = load_workbook(io.BytesIO(b"".join(c.get(reverse("analytics_vip_list"), params).streaming_content)))
    assert any(v == "=HYPERLINK(\"http://evil.example\")" for row in vip.active.iter_rows(values_only=True)
               for v in row)


def test_exports_in_chinese_name_the_card_level_and_the_points_issued(client, refreshed):
    """Issue 18: the VIP export's card column is the level's name as on the page (it was empty), its name column
    is 姓名 (a person, not 名称); the points chart's series is 发放 (issued points), not 签发时间 (a date)."""
    c = login(client, refreshed.manager)
    params = {"brand": refreshed.main.pk, "start": "2026-01-01", "end": "2026-03-31"}
    with translation.override("zh-hans"):
        page = c.get(reverse("analytics_vip_list"), params)
        response = c.get(reverse("analytics_vip_list"), {**params, "format": "xlsx"})
        vip = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
        dashboard = c.get(reverse("analytics_export"))
        figures = load_workbook(io.BytesIO(b"".join(dashboard.streaming_content)))
    header, *rows = list(vip.iter_rows(values_only=True))
    assert header[2] == "姓名" and header[4] == "会员卡"
    assert [r[4] or "" for r in rows] == [r.card for r in page.context["rows"]]
    assert any(r[4] for r in rows) and all(r[4] in ("", None) or r[4].endswith("卡") for r in rows)
    points = next(figures[name] for name in figures.sheetnames if "积分" in name)
    assert next(points.iter_rows(values_only=True))[1:] == ("发放", "兑换")
