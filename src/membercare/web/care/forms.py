"""Care forms: the contact log (one screen, on each task card), the manager's reassignment and hand-over,
the care settings editor (a form over care.config's settings tree, like the programme editor) and care events.

The forms only convert what people type; the rules are checked by care's writes (contacts, assignment,
config_writes, calendar_writes), whose errors are put back next to the field they concern.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from membercare.care.catalogue import RULE_LABELS
from membercare.care.config import DEFAULTS
from membercare.care.models import CareChannel, CareEvent, DormancyReason, FestivalCalendar, FollowUp, Outcome
from membercare.care.plans import MAX_SCRIPT, action_choices
from membercare.org.models import Brand, Staff
from membercare.sales.models import Series

from ..forms import StaffChoiceField

# -------------------------------------------------------------------------------------- contact log


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("How"), choices=CareChannel.choices, widget=forms.RadioSelect)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect)
    reason = forms.ChoiceField(label=_("Why they stopped coming"), required=False, widget=forms.RadioSelect,
                               choices=DormancyReason.choices,
                               help_text=_("Required when a dormant or sleeping member was reached."))
    notes = forms.CharField(label=_("What was said"), required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=200,
                                widget=forms.TextInput(attrs={"placeholder": _("e.g. invite to try the new coats")}))
    next_due_on = forms.DateField(label=_("Next contact on"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                  help_text=_("With a date, a follow-up task is created for you."))

    def __init__(self, *args, show_reason: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.show_reason = show_reason
        if not show_reason:
            del self.fields["reason"]


# ------------------------------------------------------------------------------------- the manager


class ReassignForm(forms.Form):
    tasks = forms.TypedMultipleChoiceField(label=_("Tasks"), coerce=int, choices=(),
                                           error_messages={"required": _("Tick the tasks to reassign.")})
    to_staff = StaffChoiceField(label=_("Give to"), queryset=Staff.objects.none(),
                                empty_label=_("Choose a colleague"))

    def __init__(self, *args, task_ids: list[int], colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tasks"].choices = [(pk, str(pk)) for pk in task_ids]
        self.fields["to_staff"].queryset = colleagues


class LeaveForm(forms.Form):
    staff = StaffChoiceField(label=_("Who leaves or changes store"), queryset=Staff.objects.none(),
                             empty_label=_("Choose a colleague"))
    to_staff = StaffChoiceField(label=_("Their open tasks and members go to"), queryset=Staff.objects.none(),
                                required=False, empty_label=_("The store's default assignee, else the manager"))

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = colleagues
        self.fields["to_staff"].queryset = colleagues


class DefaultAssigneeForm(forms.Form):
    default_assignee = StaffChoiceField(label=_("Default assignee"), queryset=Staff.objects.none(), required=False,
                                        empty_label=_("The store manager"),
                                        help_text=_("Receives tasks of members without an owner and of a clerk "
                                                    "who leaves."))

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_assignee"].queryset = colleagues


# ---------------------------------------------------------------------------------- settings editor

SECTION_LABELS = {
    "lifecycle": _("Lifecycle"),
    "abc": _("ABC by spend rank"),
    "seven": _("The seven segments (seed 004)"),
    "rfm": _("RFM scores and value pyramid"),
    "follow_up": _("Follow-up class (seed 002: turnover and profitability)"),
    "rederive": _("Re-derived monthly from who served the member most"),
}
TOP_LABELS = {"segments": _("Segments"), "rules": _("Care rules"), "owners": _("Relationship owner"),
              "plans": _("Win-back plan per reason")}
FIELD_LABELS = {
    "enabled": _("Rule switched on"),
    "new_days": _("New: first purchase within (days)"),
    "dormant_days": _("Dormant: no purchase for (days)"),
    "sleeping_days": _("Sleeping: no purchase for (days)"),
    "lost_days": _("Lost: no purchase for (days)"),
    "window_days": _("Window (days)"),
    "a_share": _("A (key): top share (%)"),
    "b_share": _("B (regular): next share (%)"),
    "high_value_share": _("High value: top share of 12-month sales (%)"),
    "high_loyalty_share": _("High loyalty: top share of sales (%)"),
    "high_loyalty_max_gap_days": _("High loyalty: median days between visits at most"),
    "high_ticket_share": _("High ticket: top share by average receipt (%)"),
    "ticket_window_days": _("Average receipt over (days)"),
    "high_freq_share": _("Low ticket, high frequency: top share of responders by marketing revenue (%)"),
    "low_share": _("Low ticket, low frequency: bottom share of responders by marketing revenue (%)"),
    "marketing_response_days": _("Marketing revenue: purchases within (days) after a bulk send"),
    "churn_recent_days": _("Churning: recent period (days)"),
    "churn_ratio": _("Churning: recent rate below this share of the usual (%)"),
    "churn_min_baseline_days": _("Churning: at least this many purchase days before"),
    "from_day": _("From day after the first purchase"),
    "to_day": _("To day after the first purchase"),
    "weekday": _("Day of the week"),
    "day_of_month": _("Day of the month the task is created"),
    "due_days": _("Days to do it"),
    "days_before": _("Days before"),
    "follow_up": _("Follow-up classes"),
    "days": _("Days without a purchase"),
    "min_purchases": _("At least this many purchases of the product"),
    "threshold": _("Probability still active below (0 to 1)"),
    "cooldown_days": _("No second such task within (days)"),
    "visits": _("Visits served by the same clerk"),
    "min_points": _("At least this many points expiring"),
    "channel": _("Channel"),
    "priority": _("Priority (lower comes first)"),
    "holidays": _("Holidays"),
    "turnover_days": _("High turnover: purchase days in 12 months at least"),
    "full_price_share": _("High profitability: paid at least this share of the full price (%)"),
    "ratio": _("Recent spend rate below this share of the usual (%)"),
    "min_amount": _("Purchases of at least (yuan)"),
    "min_gap_days": _("No second callback within (days)"),
    "from_day_after": _("From day after the purchase"),
    "to_day_after": _("To day after the purchase"),
    "a_days": _("A: contact every (days)"),
    "b_days": _("B: contact every (days)"),
    "c_days": _("C: contact every (days)"),
    "d_days": _("D: contact every (days)"),
    "grace_days": _("Days to do it"),
    "purchase_counts": _("A purchase in the store counts as a contact"),
    "days_after": _("Follow up on these days after registering"),
    "catch_up_days": _("A missed follow-up is made up for (days)"),
    "joining": _("Anniversary of joining"),
    "first_purchase": _("Anniversary of the first purchase"),
    "own_dates": _("The member's own dates"),
    "action": _("What to do"),
    "script": _("Call script (empty: the default for the reason)"),
    "target": _("Number of the coupon batch or message template"),
}
# settings whose key means something else where they stand
PATH_LABELS = {
    "owners.rederive.day_of_month": _("Day of the month it runs"),
    "owners.rederive.window_days": _("Count the receipts of the last (days)"),
}
def holiday_labels() -> dict[str, str]:
    """The festivals' names by code (care.Festival, HQ's table: /care/festivals/)."""
    from membercare.care.festivals import festival_choices

    return dict(festival_choices())


PERCENT_KEYS = {"a_share", "b_share", "high_value_share", "high_loyalty_share", "high_ticket_share",
                "high_freq_share", "low_share", "churn_ratio", "full_price_share", "ratio"}
SEP = "__"


def setting_name(path: str) -> str:
    return "s" + SEP + path.replace(".", SEP)


def setting_label(path: str) -> str:
    """segments.abc.a_share -> "ABC by spend rank · A (key): top share (%)"."""
    parts = path.split(".")
    if parts[0] == "rules" and len(parts) >= 2:
        head = str(RULE_LABELS.get(parts[1], parts[1]))
    elif parts[0] == "plans" and len(parts) >= 2:
        head = _reason_label(parts[1])
    elif parts[0] in TOP_LABELS and len(parts) >= 2:
        head = str(SECTION_LABELS.get(parts[1], parts[1]))
    else:
        head = ""
    tail = " · ".join(str(FIELD_LABELS.get(p, p)) for p in parts[2:])
    if path in PATH_LABELS:
        tail = str(PATH_LABELS[path])
    return " · ".join(p for p in (head, tail) if p)


def _reason_label(code: str) -> str:
    return str(DormancyReason(code).label) if code in DormancyReason.values else code


def setting_value(path: str, value: Any) -> str:
    """How a setting's value reads in the history."""
    from django.utils.translation import gettext

    key = path.rsplit(".", 1)[-1]
    if value is None:
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if key in PERCENT_KEYS:
        return f"{(Decimal(str(value)) * 100).normalize():f}%"
    if key == "channel":
        return str(CareChannel(value).label) if value in CareChannel.values else str(value)
    if key == "action":
        return dict(action_choices()).get(value, str(value))
    if key == "weekday" and isinstance(value, int) and value in WEEKDAYS:
        return str(WEEKDAYS[value])
    if key == "holidays" and isinstance(value, list):
        labels = holiday_labels()
        return "、".join(str(labels.get(v, v)) for v in value) or "—"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    return str(value)


def _leaves(tree: dict[str, Any], prefix: str = "") -> list[tuple[str, str, Any]]:
    out = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.extend(_leaves(value, path))
        else:
            out.append((path, key, value))
    return out


def _field_for(key: str, default: Any) -> forms.Field | None:
    label = FIELD_LABELS.get(key, key)
    if isinstance(default, bool):
        return forms.BooleanField(label=label, required=False)
    if key in PERCENT_KEYS:
        return forms.DecimalField(label=label, min_value=Decimal(0), max_value=Decimal(100), decimal_places=2,
                                  max_digits=5, widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}))
    if key == "min_amount":
        return forms.DecimalField(label=label, min_value=Decimal(0), max_value=Decimal("1000000"), decimal_places=2,
                                  max_digits=9,
                                  widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
    if key == "days_after":
        return DaysListField(label=label, help_text=_("Whole days, growing, separated by commas, e.g. 3, 7, 14"))
    if isinstance(default, int):
        if key == "weekday":
            return forms.TypedChoiceField(label=label, coerce=int, choices=list(WEEKDAYS.items()))
        return forms.IntegerField(label=label, widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    if isinstance(default, float):
        return forms.DecimalField(label=label, widget=forms.NumberInput(attrs={"step": "any"}))
    if key == "channel":
        return forms.ChoiceField(label=label, choices=CareChannel.choices)
    if key == "action":
        return forms.ChoiceField(label=label, choices=action_choices())
    if key == "script":
        return forms.CharField(label=label, required=False, max_length=MAX_SCRIPT)  # one line, like the others
    if key == "follow_up":
        return forms.MultipleChoiceField(label=label, choices=FollowUp.choices, required=False,
                                         widget=forms.CheckboxSelectMultiple)
    if key == "holidays":
        return forms.MultipleChoiceField(label=label, required=False, widget=forms.CheckboxSelectMultiple,
                                         choices=list(holiday_labels().items()),
                                         help_text=_("The festivals are kept on the festivals page."))
    if isinstance(default, str):
        return forms.CharField(label=label, required=False)
    return None  # a kind of setting the form does not know: kept as it is


class CareSettingsForm(forms.Form):
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False,
                           help_text=_("Why the settings change, e.g. the spring campaign"))

    def __init__(self, *args, config: dict[str, Any], base_version: int | None = None, **kwargs):
        self.config = copy.deepcopy(config)
        super().__init__(*args, **kwargs)
        self.paths: dict[str, tuple[str, str]] = {}  # field name -> (path, key)
        initial = {"base_version": base_version}
        for path, key, default in _leaves(DEFAULTS):
            field = _field_for(key, default)
            if field is None:
                continue
            name = setting_name(path)
            field.label = PATH_LABELS.get(path, field.label)
            self.fields[name] = field
            self.paths[name] = (path, key)
            value = _get(self.config, path, default)
            if key in PERCENT_KEYS:
                value = _percent(value)
            elif key == "days_after" and isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            initial[name] = value
        if not self.is_bound:
            self.initial.update(initial)

    def sections(self) -> list[tuple[str, list]]:
        """(legend, fields) per segment definition, then per rule (its switch first)."""
        groups: dict[tuple[str, str], list] = {}
        for name, (path, _key) in self.paths.items():
            top, group = path.split(".")[:2]
            groups.setdefault((top, group), []).append(self[name])
        out = []
        for (top, group), fields in groups.items():
            legend = RULE_LABELS.get(group, group) if top == "rules" else (
                _reason_label(group) if top == "plans" else SECTION_LABELS.get(group, group))
            out.append((top, group, legend, fields))
        return out

    def params(self) -> dict[str, Any]:
        """The settings tree typed (call after is_valid())."""
        tree = copy.deepcopy(self.config)
        for name, (path, key) in self.paths.items():
            value = self.cleaned_data.get(name)
            if key in PERCENT_KEYS and value is not None:
                value = float((value / 100).quantize(Decimal("0.0001")))
            elif key == "min_amount" and value is not None:
                value = f"{value:.2f}"
            elif isinstance(value, Decimal):
                value = float(value)
            _set(tree, path, value)
        return tree

    def field_for(self, path: str) -> str | None:
        name = setting_name(path)
        return name if name in self.fields else None


class DaysListField(forms.CharField):
    """"3, 7, 14" (or with Chinese commas) -> [3, 7, 14]; care.config_writes checks the days themselves."""

    def __init__(self, **kwargs):
        super().__init__(max_length=100, **kwargs)

    def to_python(self, value: Any) -> list[int]:
        text = super().to_python(value)
        for sep in ("，", "、", ";", "；", " "):
            text = text.replace(sep, ",")
        parts = [p for p in text.split(",") if p]
        if not all(p.isdigit() and len(p) <= 3 for p in parts):
            raise forms.ValidationError(_("Whole days, growing, separated by commas, e.g. 3, 7, 14"))
        return [int(p) for p in parts]


def _percent(share: Any) -> Decimal:
    """0.2 -> Decimal("20") (shown as 20, never 2E+1)."""
    value = Decimal(str(share)) * 100
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _get(tree: dict, path: str, default: Any) -> Any:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _set(tree: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


# ------------------------------------------------------------------------------------------- events


class CareEventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=CareEvent.Kind.choices, widget=forms.RadioSelect)
    title = forms.CharField(label=_("Title"), max_length=100)
    starts_on = forms.DateField(label=_("First day"), widget=forms.DateInput(attrs={"type": "date"},
                                                                             format="%Y-%m-%d"))
    ends_on = forms.DateField(label=_("Last day"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    brand = forms.ModelChoiceField(label=_("Brand"), queryset=Brand.objects.order_by("code"), required=False,
                                   empty_label=_("All brands"))
    series = forms.ModelChoiceField(label=_("Series"), queryset=Series.objects.order_by("code"), required=False,
                                    empty_label=_("All series"))
    details = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    @classmethod
    def initial_from(cls, event: CareEvent) -> dict[str, Any]:
        return {"kind": event.kind, "title": event.title, "starts_on": event.starts_on, "ends_on": event.ends_on,
                "brand": event.brand_id, "series": event.series_id, "details": event.details}


class FestivalForm(forms.Form):
    """A festival (care.Festival): converted here, checked by care.calendar_writes.festival_create / festival_update."""

    name = forms.CharField(label=_("Festival name"), max_length=30)
    calendar = forms.ChoiceField(label=_("Calendar"), choices=FestivalCalendar.choices, widget=forms.RadioSelect)
    month = forms.IntegerField(label=_("Month"), min_value=1, max_value=12,
                               widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    day = forms.IntegerField(label=_("Day (of the month)"), min_value=1, max_value=31,
                             widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    active = forms.BooleanField(label=_("Greet members for it"), required=False, initial=True)
    audience = forms.ModelChoiceField(label=_("Saved audience"), required=False, queryset=None,
                                      empty_label=_("Every member the greeting rule picks"),
                                      help_text=_("Only the members of this saved audience are greeted."))
    gender = forms.ChoiceField(label=_("Gender"), required=False,
                               choices=[("", _("Women and men")), ("F", _("Women only")), ("M", _("Men only"))])
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                choices=[("", _("The greeting rule's channel")), *CareChannel.choices])
    greeting = forms.CharField(label=_("Greeting text"), required=False, max_length=500,
                               widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("Optional: the message the clerk sends, with placeholders such as "
                                           "{title} and {store}; empty: the holiday greeting template."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from membercare.audiences.models import Audience

        self.fields["audience"].queryset = Audience.objects.order_by("name", "pk")

    @classmethod
    def initial_from(cls, festival) -> dict[str, Any]:
        return {"name": festival.name, "calendar": festival.calendar, "month": festival.month, "day": festival.day,
                "active": festival.active, "audience": festival.audience_id, "gender": festival.gender,
                "channel": festival.channel,
                "greeting": festival.greeting}

    def values(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"name": d["name"], "calendar": d["calendar"], "month": d["month"], "day": d["day"],
                "active": bool(d.get("active")), "audience_id": d["audience"].pk if d.get("audience") else None,
                "gender": d.get("gender") or "",
                "channel": d.get("channel") or "", "greeting": d.get("greeting") or ""}
