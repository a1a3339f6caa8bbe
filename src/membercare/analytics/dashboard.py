"""What a dashboard shows, per role: tiles (figures) and charts (labels, datasets, a fallback table), built
from the measures. The same structure feeds the page (Chart.js), the .xlsx export and the tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from membercare.care.models import SEVEN_SEGMENTS, FollowUp, Lifecycle, Pyramid, SpendClass
from membercare.loyalty.programme import programme_at
from membercare.org.models import Staff

from . import measures
from .scope import Filters


def _num(value: Any) -> Any:
    """JSON-friendly: Decimal to float for the chart (the tables keep the exact text)."""
    return float(value) if isinstance(value, Decimal) else value


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else float(measures.percent(value))


def chart(key: str, title: str, kind: str, labels: list[str], datasets: list[tuple[str, list[Any]]],
          *, percent: bool = False, stacked: bool = False, target: float | None = None) -> dict[str, Any]:
    return {"id": f"chart-{key}", "key": key, "title": title, "type": kind, "labels": [str(x) for x in labels],
            "datasets": [{"label": str(label), "data": [_num(v) for v in data]} for label, data in datasets],
            "percent": percent, "stacked": stacked, "target": target,
            "rows": [[str(label), *[d[i] for _l, d in datasets]] for i, label in enumerate(labels)],
            "headers": ["", *[str(label) for label, _d in datasets]]}


def display(value: Any, kind: str) -> str:
    """A figure as shown on a tile: ¥1,234.50, 48.2%, 1,234, or — when there is nothing to show."""
    if value is None:
        return "—"
    if kind == "money":
        return f"¥{value:,.2f}"
    if kind == "percent":
        return f"{measures.percent(value)}%"
    return f"{value:,}"


def tile(key: str, label: str, value: Any, kind: str) -> dict[str, Any]:
    return {"key": key, "label": label, "value": value, "kind": kind, "text": display(value, kind)}


def _choice_rows(choices, counts: dict[str, int], extra: list[tuple[str, str]] = ()) -> tuple[list[str], list[int]]:
    labels, values = [], []
    for code, label in [*choices, *extra]:
        labels.append(str(label))
        values.append(counts.get(code, 0))
    return labels, values


def chain_dashboard(filters: Filters, point_value: Decimal | None = None) -> dict[str, Any]:
    """HQ and managers: the stores in scope (the whole chain for HQ without a filter)."""
    scope = filters.scope
    sales = measures.sales_summary(scope)
    weeks = measures.sales_by_week(scope)
    seg = measures.segment_summary(scope)
    churn = measures.churn_rate(scope)
    churn_months = measures.churn_by_month(scope)
    points = measures.points_summary(scope, point_value)
    point_months = measures.points_by_month(scope)
    tasks = measures.tasks_by_clerk(scope)
    stored = measures.stored_value_summary(scope)
    gift = measures.gift_card_summary(scope)
    week_labels = [w["week"].isoformat() for w in weeks]
    charts = [
        chart("sales", _("Sales per week"), "bar", week_labels,
              [(_("Net sales"), [w["net_sales"] for w in weeks]),
               (_("Members' sales"), [w["member_sales"] for w in weeks])]),
        chart("vip_share", _("Members' share of sales per week (%)"), "line", week_labels,
              [(_("Members' share (%)"), [_pct(w["vip_share"]) for w in weeks])], percent=True,
              target=_pct(sales["vip_share_target"])),
        chart("new_members", _("New members per week"), "bar", week_labels,
              [(_("New members"), [w["new_members"] for w in weeks])]),
    ]
    if seg.get("day"):
        labels, values = _choice_rows(programme_at().levels(), seg["tier"], [("", _("No active card"))])
        charts.append(chart("tiers", _("Members by card"), "bar", labels, [(_("Members"), values)]))
        labels, values = _choice_rows(Lifecycle.choices, seg["lifecycle"])
        charts.append(chart("lifecycle", _("Members by lifecycle"), "bar", labels, [(_("Members"), values)]))
        labels, values = _choice_rows(list(reversed(Pyramid.choices)), seg["pyramid"])
        charts.append(chart("pyramid", _("Value pyramid"), "bar", labels, [(_("Members"), values)]))
        labels, values = _choice_rows(SpendClass.choices, seg["spend_class"])
        charts.append(chart("abc", _("Members by spend class (ABC)"), "bar", labels, [(_("Members"), values)]))
        labels, values = _choice_rows(FollowUp.choices, seg["follow_up"])
        charts.append(chart("follow_up", _("Members by follow-up class"), "bar", labels, [(_("Members"), values)]))
        labels, values = _choice_rows(SEVEN_SEGMENTS, seg["flags"])
        charts.append(chart("seven", _("Seed 004's seven segments"), "bar", labels, [(_("Members"), values)]))
    if churn_months:
        charts.append(chart("churn", _("Churn per month (%)"), "line",
                            [m["month"].strftime("%Y-%m") for m in churn_months],
                            [(_("Churn rate (%)"), [_pct(m["rate"]) for m in churn_months])], percent=True))
    charts.append(chart("points", _("Points issued and redeemed per month"), "bar",
                        [m["month"].strftime("%Y-%m") for m in point_months],
                        [(pgettext("points", "Issued"), [m["issued"] for m in point_months]),
                         (_("Redeemed"), [m["redeemed"] for m in point_months])]))
    if tasks:
        charts.append(chart("tasks", _("Care tasks due per clerk"), "bar",
                            [t["name"] or _("Unassigned") for t in tasks],
                            [(_("Done on time"), [t["on_time"] for t in tasks]),
                             (_("Done late"), [t["late"] for t in tasks]),
                             (pgettext("tasks", "Open"), [t["open"] for t in tasks])], stacked=True))
    lifecycle = seg.get("lifecycle", {})
    tiles = [
        ("net_sales", _("Net sales"), sales["net_sales"], "money"),
        ("member_sales", _("Members' sales"), sales["member_sales"], "money"),
        ("vip_share", _("Members' share of sales"), sales["vip_share"], "percent"),
        ("vip_share_target", _("Target share"), sales["vip_share_target"], "percent"),
        ("average_receipt", _("Average receipt"), sales["average_receipt"], "money"),
        ("member_average_receipt", _("Members' average receipt"), sales["member_average_receipt"], "money"),
        ("receipts", _("Sale receipts"), sales["receipts"], "number"),
        ("new_members", _("New members"), sales["new_members"], "number"),
        ("members", _("Members"), measures.members_registered(scope), "number"),
        ("active", pgettext("lifecycle", "Active"),
         lifecycle.get("new", 0) + lifecycle.get("active", 0) if seg.get("day") else None, "number"),
        ("dormant", pgettext("lifecycle", "Dormant"), lifecycle.get("dormant") if seg.get("day") else None, "number"),
        ("sleeping", pgettext("lifecycle", "Sleeping"),
         lifecycle.get("sleeping") if seg.get("day") else None, "number"),
        ("lost", pgettext("lifecycle", "Lost"), lifecycle.get("lost") if seg.get("day") else None, "number"),
        ("churn_rate", _("Churn rate"), churn["rate"], "percent"),
        ("repurchase_rate", _("Repurchase rate (12 months)"), seg.get("repurchase_rate"), "percent"),
        ("points_issued", _("Points issued"), points["issued"], "number"),
        ("points_redeemed", _("Points redeemed"), points["redeemed"], "number"),
        ("points_outstanding", _("Points outstanding"), points["outstanding"], "number"),
        ("points_liability", _("Points liability"), points["liability"], "money"),
        ("sv_top_ups", _("Top-ups"), stored["top_ups"], "money"),
        ("sv_spends", _("Stored value spent"), stored["spends"], "money"),
        ("sv_refunds", _("Balances refunded"), stored["refunds"], "money"),
        ("gc_sold", _("Gift cards sold"), gift["sold"], "money"),
        ("gc_spent", _("Gift cards spent"), gift["spent"], "money"),
        ("gc_outstanding", _("Gift cards outstanding"), gift["outstanding"], "money"),
    ]
    return {"tiles": [tile(*t) for t in tiles],
            "charts": charts, "sales": sales, "segments": seg, "churn": churn, "points": points, "tasks": tasks,
            "complaints": measures.complaint_tile(scope, filters.stores),
            "aftersales": measures.aftersales_tile(scope, filters.stores),
            "campaigns": measures.campaign_tile(scope, filters.stores)}


def own_dashboard(user: Staff, filters: Filters) -> dict[str, Any]:
    """A clerk: own sales, own care tasks per week, the members they look after by lifecycle."""
    scope = filters.scope
    sales = measures.clerk_sales(user.pk, scope.start, scope.end)
    weeks = measures.clerk_tasks_by_week(user.pk, scope.start, scope.end)
    members = measures.clerk_members(user.pk)
    due = sum(w["due"] for w in weeks)
    on_time = sum(w["on_time"] for w in weeks)
    labels, values = _choice_rows(Lifecycle.choices, members, [("", _("Not computed yet"))])
    charts = [
        chart("my_tasks", _("My care tasks per week"), "bar", [w["week"].isoformat() for w in weeks],
              [(_("Done on time"), [w["on_time"] for w in weeks]), (_("Done late"), [w["late"] for w in weeks]),
               (pgettext("tasks", "Open"), [w["open"] for w in weeks])], stacked=True),
        chart("my_members", _("My members by lifecycle"), "bar", labels, [(_("Members"), values)]),
    ]
    tiles = [
        ("my_sales", _("My sales"), sales["net_sales"], "money"),
        ("member_sales", _("Members' sales"), sales["member_sales"], "money"),
        ("vip_share", _("Members' share of sales"), sales["vip_share"], "percent"),
        ("receipts", _("Sale receipts"), sales["receipts"], "number"),
        ("average_receipt", _("Average receipt"), sales["average_receipt"], "money"),
        ("tasks_due", _("Care tasks due"), due, "number"), ("tasks_on_time", _("Done on time"), on_time, "number"),
        ("on_time_rate", _("On time"), measures.rate(on_time, due), "percent"),
        ("my_members", _("My members"), sum(members.values()), "number"),
    ]
    return {"tiles": [tile(*t) for t in tiles],
            "charts": charts, "sales": sales, "task_weeks": weeks, "members": members}


def dashboard_sheets(data: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The dashboard as spreadsheet sheets: the figures, then one sheet per chart."""
    figures = [[t["label"], measures.percent(t["value"]) if t["kind"] == "percent" else t["value"]]
               for t in data["tiles"]]
    sheets = [(_("Figures"), [_("Measure"), pgettext("measure", "Value")], figures)]
    for c in data["charts"]:
        sheets.append((c["title"], c["headers"], c["rows"]))
    return sheets
