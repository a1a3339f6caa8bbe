"""/programme/points-events/: the programme's points for events (survey, profile, membership anniversary,
manual adjustments) and its charity items, saved as a new programme version (HQ). Thin: the rules are checked
by loyalty.programme_services.normalize_rules; the other settings of the version are kept as they are."""

from __future__ import annotations

import copy
import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from membercare.core.permissions import can_edit_programme, require
from membercare.loyalty.donations import donation_totals
from membercare.loyalty.programme import DEFAULT_RULES, EARN_EVENTS
from membercare.loyalty.programme_selectors import FIELD_LABELS, latest_version
from membercare.loyalty.programme_services import programme_ensure_default, programme_update

CHARITY_ROWS = 6


class PointsRulesForm(forms.Form):
    effective_from = forms.DateField(label=_lazy("Applies from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, rules: dict, **kwargs):
        super().__init__(*args, **kwargs)
        events = rules.get("earn_events") or DEFAULT_RULES["earn_events"]
        for code in EARN_EVENTS:
            rule = {**DEFAULT_RULES["earn_events"][code], **(events.get(code) or {})}
            self.fields[f"{code}_points"] = forms.IntegerField(min_value=0, max_value=100_000, initial=rule["points"])
            self.fields[f"{code}_yearly_cap"] = forms.IntegerField(min_value=0, max_value=1_000_000,
                                                                   initial=rule["yearly_cap"])
            self.fields[f"{code}_valid_days"] = forms.IntegerField(min_value=1, max_value=3660, required=False,
                                                                   initial=rule["valid_days"])
        charities = list(rules.get("charities") or [])
        for i in range(max(CHARITY_ROWS, len(charities) + 2)):
            row = charities[i] if i < len(charities) else {}
            self.fields[f"c{i}_code"] = forms.CharField(max_length=30, required=False, initial=row.get("code", ""))
            self.fields[f"c{i}_name"] = forms.CharField(max_length=40, required=False, initial=row.get("name", ""))
            self.fields[f"c{i}_active"] = forms.BooleanField(required=False, initial=row.get("active", True))
        self.charity_rows = [i for i in range(max(CHARITY_ROWS, len(charities) + 2))]
        self.fields["effective_from"].initial = timezone.localdate()

    def event_rows(self):
        return [(code, FIELD_LABELS[code], self[f"{code}_points"], self[f"{code}_yearly_cap"],
                 self[f"{code}_valid_days"]) for code in EARN_EVENTS]

    def charity_fields(self):
        return [(self[f"c{i}_code"], self[f"c{i}_name"], self[f"c{i}_active"]) for i in self.charity_rows]

    def rules(self, base: dict) -> dict:
        d = self.cleaned_data
        rules = copy.deepcopy(base)
        rules["earn_events"] = {code: {"points": d[f"{code}_points"], "yearly_cap": d[f"{code}_yearly_cap"],
                                       "valid_days": d[f"{code}_valid_days"]} for code in EARN_EVENTS}
        rules["charities"] = [{"code": (d[f"c{i}_code"] or "").strip(), "name": (d[f"c{i}_name"] or "").strip(),
                               "active": d[f"c{i}_active"]}
                              for i in self.charity_rows if (d[f"c{i}_code"] or d[f"c{i}_name"] or "").strip()]
        return rules

    def add_rule_errors(self, exc: ValidationError) -> None:
        """A rules error names its field (earn_events.survey.points, charities[2].name): put it there."""
        import re

        for key, errors in exc.message_dict.items():
            field = None
            if m := re.match(r"^earn_events\.(\w+)\.(\w+)$", key):
                field = f"{m.group(1)}_{m.group(2)}"
            elif m := re.match(r"^charities\[(\d+)\]\.(\w+)$", key):
                rows = [i for i in self.charity_rows if (self.cleaned_data.get(f"c{i}_code") or self.cleaned_data.get(
                    f"c{i}_name") or "").strip()]
                index = int(m.group(1))
                field = f"c{rows[index]}_{m.group(2)}" if index < len(rows) else None
            elif key == "effective_from":
                field = key
            self.add_error(field if field in self.fields else None, errors)


def points_rules_page(request: HttpRequest) -> HttpResponse:
    require(can_edit_programme(request.user))
    programme_ensure_default()
    base = latest_version()
    form = PointsRulesForm(request.POST or None, rules=base.rules)
    if request.method == "POST" and form.is_valid():
        try:
            version = programme_update(rules=form.rules(base.rules), effective_from=form.cleaned_data["effective_from"],
                                       by=request.user, note=_("Points for events and charity items"))
        except ValidationError as exc:
            form.add_rule_errors(exc)
        else:
            messages.success(request, _("The programme was saved; it applies from %(date)s.") % {
                "date": formats.date_format(version.effective_from)})
            return redirect("points_rules")
    return render(request, "web/points/rules.html", {"form": form, "base": base, "donations": donation_totals(),
                                                     "today": dt.date.today()},
                  status=400 if request.method == "POST" else 200)
