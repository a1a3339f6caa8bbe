"""/stored-value/finance/: the stored-value liability (deferred revenue) per store and brand at the end of a
chosen day, the day's movements and the revenue recognised, the latest reconciliation's warning; .xlsx with
?format=xlsx. HQ (specialists, administrators) sees the chain; a manager their stores; clerks are refused."""

from __future__ import annotations

import datetime as dt

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.core.permissions import can_see_stored_value_books, require, visible_stores
from membercare.core.xlsx import CONTENT_TYPE, write_xlsx
from membercare.storedvalue.liability import finance_day
from membercare.storedvalue.reconcile import latest_run


def _day(request: HttpRequest) -> tuple[dt.date, str]:
    today = timezone.localdate()
    raw = request.GET.get("day", "")
    if not raw:
        return today, ""
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return today, _("“%(day)s” is not a date (YYYY-MM-DD): today is shown.") % {"day": raw[:20]}
    if day > today:
        return today, _("The day cannot be in the future: today is shown.")
    return day, ""


def _sheets(data: dict) -> list:
    no_store = _("No store (HQ)")
    return [
        (_("Liability per store"), [_("Store code"), _("Store"), _("Principal"), _("Bonus"), _("Total")],
         [[r["code"], r["name"] or no_store, r["principal"], r["bonus"], r["total"]] for r in data["stores"]]
         + [["", _("Total"), data["total"].principal, data["total"].bonus, data["total"].total]]),
        (_("Liability per brand"), [_("Cards of"), _("Principal"), _("Bonus"), _("Total")],
         [[r["name"] or _("The whole chain"), r["principal"], r["bonus"], r["total"]] for r in data["scopes"]]),
        (_("Movements of the day"), [_("Kind"), _("Principal"), _("Bonus"), _("Entries")],
         [[str(k["label"]), k["principal"], k["bonus"], k["count"]] for k in data["kinds"]]
         + [[_("Revenue recognised"), data["moved"].recognised, data["moved"].bonus_used, ""]]),
        *_gift_card_sheets(data["gift_cards"]),
    ]


def _gift_card_sheets(gift: dict) -> list:
    """礼品卡: the gift cards' outstanding value per store and brand and the day's movements (one sheet)."""
    return [(_("Gift cards"), [_("Store code"), _("Store"), _("Outstanding")],
             [[r["code"], r["name"] or _("No store (HQ)"), r["total"]] for r in gift["stores"]]
             + [["", _("Total"), gift["total"]]]
             + [["", r["name"] or _("The whole chain"), r["total"]] for r in gift["scopes"]]
             + [["", str(k["label"]), k["amount"]] for k in gift["kinds"]])]


def stored_value_finance(request: HttpRequest) -> HttpResponse:
    require(can_see_stored_value_books(request.user))
    chain_wide = request.user.is_superuser or request.user.is_chain_wide
    store_ids = None if chain_wide else list(visible_stores(request.user).values_list("pk", flat=True))
    day, problem = _day(request)
    data = finance_day(day, store_ids=store_ids)
    if request.GET.get("format") == "xlsx":
        return FileResponse(write_xlsx(_sheets(data)), as_attachment=True,
                            filename=f"stored-value-{day:%Y%m%d}.xlsx", content_type=CONTENT_TYPE)
    return render(request, "web/storedvalue/finance.html", {
        "data": data, "day": day, "problem": problem, "chain_wide": chain_wide,
        "run": latest_run() if chain_wide else None,  # chain-wide totals: not a store manager's to read
    })
