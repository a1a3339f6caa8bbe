"""Reports to Excel and print: the store's monthly member report, the annual VIP statement list and the
dashboard's figures. Every export leaving personal data (member names, phones) is logged in ExportLog
(PIPL), with phones masked unless the role sees full phones. Large ones run as background jobs
(core.jobs) with a progress callback; the finished file is kept in the file storage under exports/."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from membercare.care.models import Lifecycle
from membercare.core import xlsx
from membercare.core.jobs import job_file_save
from membercare.core.permissions import can_export, can_see_full_phone, require, visible_stores
from membercare.core.phone import mask_phone
from membercare.core.replica import from_replica
from membercare.loyalty.programme import programme_at
from membercare.members.models import ExportLog
from membercare.org.models import Brand, Staff, Store

from . import measures
from .measures import Scope
from .sql import add_months
from .statement import VipRow, vip_statement_list

Sheet = xlsx.Sheet
write_xlsx = xlsx.write_xlsx  # the one writer (text stays text): core.xlsx


def _pct(value: Decimal | None) -> Decimal | None:
    return measures.percent(value)


def month_scope(store: Store, month: dt.date) -> Scope:
    first = month.replace(day=1)
    return Scope((store.pk,), first, add_months(first, 1) - dt.timedelta(days=1))


def store_monthly_report(store: Store, month: dt.date) -> dict[str, Any]:
    """The store's monthly member report: sales and the members' share, new members, members by tier and
    lifecycle at the month's end, repurchase rate, the month's churn, points and care tasks per clerk."""
    scope = month_scope(store, month)
    return {
        "store": store, "month": scope.start, "scope": scope, "sales": measures.sales_summary(scope),
        "weeks": measures.sales_by_week(scope), "segments": measures.segment_summary(scope),
        "churn": measures.churn_rate(scope), "points": measures.points_summary(scope),
        "members": measures.members_registered(scope), "tasks": measures.tasks_by_clerk(scope),
        "includes_today": scope.start <= timezone.localdate() <= scope.end,
    }


def store_monthly_sheets(report: dict[str, Any]) -> list[Sheet]:
    s, seg, churn, pts = report["sales"], report["segments"], report["churn"], report["points"]
    summary = [
        [_("Store"), report["store"].name], [_("Month"), report["month"].strftime("%Y-%m")],
        [_("Net sales"), s["net_sales"]], [_("Members' sales"), s["member_sales"]],
        [_("Members' share of sales (%)"), _pct(s["vip_share"])], [_("Target (%)"), _pct(s["vip_share_target"])],
        [_("Sale receipts"), s["receipts"]], [_("Average receipt"), s["average_receipt"]],
        [_("Members' average receipt"), s["member_average_receipt"]], [_("New members"), s["new_members"]],
        [_("Members registered at the store"), report["members"]],
        [_("Repurchase rate, 12 months (%)"), _pct(seg.get("repurchase_rate"))],
        [_("Churn rate (%)"), _pct(churn["rate"])],
        [_("Points issued"), pts["issued"]], [_("Points redeemed"), pts["redeemed"]],
        [_("Points outstanding"), pts["outstanding"]],
    ]
    for code, label in programme_at().levels():
        summary.append([str(label), seg.get("tier", {}).get(code, 0)])
    summary.append([_("No active card"), seg.get("tier", {}).get("", 0)])
    for code, label in Lifecycle.choices:  # named apart from the figures above (新会员 is both a count and a segment)
        summary.append([_("Lifecycle: %(segment)s") % {"segment": label}, seg.get("lifecycle", {}).get(code, 0)])
    weeks = [[w["week"], w["net_sales"], w["member_sales"], _pct(w["vip_share"]), w["receipts"], w["new_members"]]
             for w in report["weeks"]]
    tasks = [[t["name"] or _("Unassigned"), t["due"], t["on_time"], t["late"], t["open"], _pct(t["on_time_rate"])]
             for t in report["tasks"]]
    return [
        (_("Summary"), [_("Measure"), pgettext("measure", "Value")], summary),
        (_("Weeks"), [_("Week from"), _("Net sales"), _("Members' sales"), _("Members' share (%)"),
                      _("Sale receipts"), _("New members")], weeks),
        (_("Care tasks"), [_("Clerk"), pgettext("task count", "Due"), _("Done on time"), _("Done late"), _("Open"),
                           _("On time (%)")], tasks),
    ]


def store_monthly_xlsx(user: Staff, store: Store, month: dt.date) -> IO[bytes]:
    """The store's monthly report as .xlsx (aggregates and clerks' names only: no member data)."""
    require(can_export(user) and visible_stores(user).filter(pk=store.pk).exists())
    sheets = store_monthly_sheets(store_monthly_report(store, month))
    out = write_xlsx(sheets)
    ExportLog.objects.create(exported_by=user, exported_at=timezone.now(), kind="store_monthly",
                             filters={"store": store.pk, "month": month.strftime("%Y-%m")},
                             row_count=sum(len(rows) for _t, _h, rows in sheets if isinstance(rows, list)),
                             full_data=False)  # logged like every export, though it holds no member data
    return out


def vip_headers() -> list[str]:
    return [_("Rank"), _("Member number"), pgettext("person", "Name"), _("Mobile phone"), _("Card"),
            _("Registration store"), _("Spend"), _("Receipts"), _("Points earned"), _("Points redeemed"),
            _("Birthday privileges used"), _("VIP events"), _("Coupons")]


def vip_values(row: VipRow, full_phone: bool) -> list[Any]:
    return [row.rank, row.member.member_no, row.member.name,
            row.member.phone if full_phone else mask_phone(row.member.phone), row.card,  # its name (精英卡)
            row.member.home_store.name if row.member.home_store_id else "", row.spend, row.receipts,
            row.points_earned, row.points_redeemed, row.birthday_uses, row.extras.get("events"),
            row.extras.get("coupons")]


def _allowed_store_ids(user: Staff) -> list[int] | None:
    return None if user.is_chain_wide else list(visible_stores(user).values_list("pk", flat=True))


def vip_list_xlsx(user: Staff, brand: Brand, start: dt.date, end: dt.date, *, limit: int = 100,
                  min_spend: Decimal | None = None, progress: Callable[..., None] | None = None,
                  out: IO[bytes] | None = None) -> tuple[IO[bytes], int]:
    """The annual VIP statement list as .xlsx; the export is logged (it holds names and phones)."""
    require(can_export(user))
    full_phone = can_see_full_phone(user)
    rows = vip_statement_list(brand, start, end, limit=limit, min_spend=min_spend,
                              store_ids=_allowed_store_ids(user), progress=progress)
    for row in rows:
        row.member.home_store  # noqa: B018 (loaded once here, not per cell)
    data = write_xlsx([(_("VIP statement"), vip_headers(), (vip_values(r, full_phone) for r in rows))], out)
    ExportLog.objects.create(exported_by=user, exported_at=timezone.now(), kind="vip_statement",
                             filters={"brand": brand.pk, "start": start.isoformat(), "end": end.isoformat(),
                                      "limit": limit, "min_spend": str(min_spend) if min_spend else None},
                             row_count=len(rows), full_data=full_phone)
    return data, len(rows)


def vip_list_job(progress, *, user_id: int, brand_id: int, start: str, end: str, limit: int,
                 min_spend: str | None) -> dict[str, Any]:
    """Background job (core.jobs): the VIP list written to the file storage as exports/vip-<job>.xlsx (a
    temporary file first, then one upload: any app server downloads it, through job_download)."""
    from django.urls import reverse

    user = Staff.objects.get(pk=user_id)
    with tempfile.TemporaryFile() as out, from_replica():
        _data, count = vip_list_xlsx(user, Brand.objects.get(pk=brand_id), dt.date.fromisoformat(start),
                                     dt.date.fromisoformat(end), limit=limit,
                                     min_spend=Decimal(min_spend) if min_spend else None, progress=progress,
                                     out=out)
        name = job_file_save(progress, "vip", out)
    return {"url": reverse("job_download", args=[progress.job_id]), "label": _("Download (.xlsx)"),
            "path": name, "rows": count}
