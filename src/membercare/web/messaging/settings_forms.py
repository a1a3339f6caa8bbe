"""The messaging settings editor: the content rules per category (rule text, forbidden words, forbidden patterns,
required texts; add and remove rules), the marketing categories, quiet hours, the weekly limit and the SMS price
and signature, and how a saved version's changes read in the history.

The form only converts what people type (lists split on new lines, 、，or commas); every check is
messaging.services.messaging_config_save's, whose errors are put back next to the field or the rule they concern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from membercare.messaging.config import DEFAULTS
from membercare.messaging.models import Category

MAX_RULES = 30  # rule rows per category the form reads
LIST_SPLIT = re.compile(r"[\n\r、，,]+")
RULE_CHECKS = ("forbid_words", "forbid_patterns", "require")

# settings path -> form field
FIELD_PATHS = {
    "marketing_categories": "marketing_categories",
    "quiet_hours.start": "quiet_start",
    "quiet_hours.end": "quiet_end",
    "weekly_cap": "weekly_cap",
    "sms.price_per_segment": "sms_price",
    "sms.sign_name": "sms_sign_name",
    "sms.segment_chars": "sms_segment_chars",
    "sms.long_segment_chars": "sms_long_segment_chars",
    "note": "note",
}
SETTING_LABELS = {
    "marketing_categories": _("Marketing categories"),
    "quiet_hours.start": _("Quiet hours start"),
    "quiet_hours.end": _("Quiet hours end"),
    "weekly_cap": _("Marketing messages per member per week"),
    "sms.price_per_segment": _("SMS price per segment (yuan)"),
    "sms.sign_name": _("SMS signature"),
    "sms.segment_chars": _("Characters in one SMS"),
    "sms.long_segment_chars": _("Characters per part of a long SMS"),
    "email.price": _("Email price (yuan)"),
    "wechat.price": _("WeChat price (yuan)"),
    "retry.max_attempts": _("Attempts at most"),
    "retry.backoff_seconds": _("First retry after (seconds)"),
    "retry.backoff_factor": _("Each wait longer by the factor"),
}
CHECK_LABELS = {
    "rule": _("The rule (quoted when a text is refused)"),
    "forbid_words": _("Forbidden words"),
    "forbid_patterns": _("Forbidden patterns (regular expressions)"),
    "require": _("Required texts or placeholders"),
}


def split_list(text: str) -> list[str]:
    """Words typed one per line or separated by 、，or commas."""
    return [part.strip() for part in LIST_SPLIT.split(text or "") if part.strip()]


def split_lines(text: str) -> list[str]:
    """Patterns: one per line (a pattern may hold commas)."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _rule_msgids(*configs: dict[str, Any]) -> dict[str, str]:
    """Translated rule text -> the text stored (the default rules are stored untranslated, as msgids)."""
    out: dict[str, str] = {}
    for config in configs:
        for rules in (config.get("content_rules") or {}).values():
            for rule in rules or []:
                text = rule.get("rule") if isinstance(rule, dict) else None
                if isinstance(text, str) and text:
                    out.setdefault(gettext(text), text)
    return out


@dataclass
class RuleRow:
    """One rule of one category as typed (or as saved)."""

    category: str
    index: int
    rule: str = ""
    forbid_words: str = ""
    forbid_patterns: str = ""
    require: str = ""
    remove: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)  # check (or "whole") -> messages

    @property
    def prefix(self) -> str:
        return f"r-{self.category}-{self.index}"

    @property
    def is_blank(self) -> bool:
        return not any((self.rule or "").strip() or (getattr(self, k) or "").strip() for k in RULE_CHECKS)

    def as_rule(self, msgids: dict[str, str]) -> dict[str, Any]:
        text = (self.rule or "").strip()
        out: dict[str, Any] = {"rule": msgids.get(text, text)}
        for key, values in (("forbid_words", split_list(self.forbid_words)),
                            ("forbid_patterns", split_lines(self.forbid_patterns)),
                            ("require", split_list(self.require))):
            if values:
                out[key] = values
        return out


class MessagingSettingsForm(forms.Form):
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False,
                           help_text=_("Why the settings change, e.g. the spring campaign"))
    marketing_categories = forms.MultipleChoiceField(
        label=_("Marketing categories"), choices=Category.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Need the member's marketing consent on the channel and count against the weekly limit."))
    quiet_start = forms.CharField(label=_("Quiet hours start"), required=False, max_length=10,
                                  widget=forms.TextInput(attrs={"placeholder": "21:00", "inputmode": "numeric",
                                                                "size": 6}))
    quiet_end = forms.CharField(label=_("Quiet hours end"), required=False, max_length=10,
                                widget=forms.TextInput(attrs={"placeholder": "09:00", "inputmode": "numeric",
                                                              "size": 6}),
                                help_text=_("Messages are held until the quiet hours end."))
    weekly_cap = forms.CharField(label=_("Marketing messages per member per week"), required=False, max_length=10,
                                 widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 6}))
    sms_price = forms.CharField(label=_("SMS price per segment (yuan)"), required=False, max_length=20,
                                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}))
    sms_sign_name = forms.CharField(label=_("SMS signature"), required=False, max_length=40,
                                    help_text=_("The name the SMS provider approved, shown as 【…】 in front."))
    sms_segment_chars = forms.CharField(label=_("Characters in one SMS"), required=False, max_length=10,
                                        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 6}))
    sms_long_segment_chars = forms.CharField(label=_("Characters per part of a long SMS"), required=False,
                                             max_length=10,
                                             widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 6}))

    def __init__(self, data=None, *, config: dict[str, Any], base_version: int | None = None,
                 add_rule_to: str = "", **kwargs):
        super().__init__(data, **kwargs)
        self.config = config
        self.msgids = _rule_msgids(config, DEFAULTS)
        if not self.is_bound:
            self.initial.update({
                "base_version": base_version, "marketing_categories": list(config["marketing_categories"]),
                "quiet_start": config["quiet_hours"]["start"], "quiet_end": config["quiet_hours"]["end"],
                "weekly_cap": config["weekly_cap"], "sms_price": config["sms"]["price_per_segment"],
                "sms_sign_name": config["sms"]["sign_name"], "sms_segment_chars": config["sms"]["segment_chars"],
                "sms_long_segment_chars": config["sms"]["long_segment_chars"]})
        self.rules = self._rows_from_data(data, add_rule_to) if self.is_bound else self._rows_from_config(config)
        self.rule_errors: list[str] = []  # about the rules as a whole (e.g. an unknown category)
        self._tree_rows: dict[str, list[RuleRow]] = {}

    # --------------------------------------------------------------------------------------- rule rows

    def _rows_from_config(self, config: dict[str, Any]) -> dict[str, list[RuleRow]]:
        rows = {}
        for category in Category.values:
            rows[category] = [RuleRow(category, i, gettext(rule.get("rule", "")),
                                      "\n".join(rule.get("forbid_words", [])),
                                      "\n".join(rule.get("forbid_patterns", [])),
                                      "\n".join(rule.get("require", [])))
                              for i, rule in enumerate(config["content_rules"].get(category, []))]
        return rows

    def _rows_from_data(self, data, add_rule_to: str) -> dict[str, list[RuleRow]]:
        rows = {}
        for category in Category.values:
            try:
                count = max(0, min(int(data.get(f"r-{category}-count") or 0), MAX_RULES))
            except (TypeError, ValueError):
                count = 0
            found = []
            for i in range(count):
                prefix = f"r-{category}-{i}"
                found.append(RuleRow(category, i, *(data.get(f"{prefix}-{k}", "") for k in ("rule", *RULE_CHECKS)),
                                     remove=bool(data.get(f"{prefix}-remove"))))
            if add_rule_to == category and count < MAX_RULES:
                found.append(RuleRow(category, count))
            rows[category] = found
        return rows

    def rule_groups(self) -> list[tuple[str, Any, list[RuleRow]]]:
        return [(value, label, self.rules[value]) for value, label in Category.choices]

    def content_rules(self) -> dict[str, list[dict[str, Any]]]:
        """The rules as typed: removed and blank rows left out (remembers which row each saved rule came from)."""
        tree: dict[str, list[dict[str, Any]]] = {}
        self._tree_rows = {}
        for category, rows in self.rules.items():
            kept = [row for row in rows if not row.remove and not row.is_blank]
            self._tree_rows[category] = kept
            tree[category] = [row.as_rule(self.msgids) for row in kept]
        return tree

    # -------------------------------------------------------------------------------------------- save

    def params(self) -> dict[str, Any]:
        """The settings as typed (call after is_valid())."""
        data = self.cleaned_data
        return {
            "content_rules": self.content_rules(),
            "marketing_categories": list(data.get("marketing_categories") or []),
            "quiet_hours": {"start": data.get("quiet_start", ""), "end": data.get("quiet_end", "")},
            "weekly_cap": data.get("weekly_cap", ""),
            "sms": {"price_per_segment": data.get("sms_price", ""), "sign_name": data.get("sms_sign_name", ""),
                    "segment_chars": data.get("sms_segment_chars", ""),
                    "long_segment_chars": data.get("sms_long_segment_chars", "")},
        }

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put messaging_config_save's errors next to the field or the rule row they concern."""
        for path, errors in exc.message_dict.items():
            parts = path.split(".")
            if parts[0] == "content_rules" and len(parts) >= 3 and parts[2].isdigit():
                kept = self._tree_rows.get(parts[1], [])
                index = int(parts[2])
                if index < len(kept):
                    key = parts[3] if len(parts) > 3 and parts[3] in ("rule", *RULE_CHECKS) else "whole"
                    kept[index].errors.setdefault(key, []).extend(errors)
                    continue
            if parts[0] == "content_rules":
                self.rule_errors.extend(errors)
                self.add_error(None, errors)
                continue
            name = FIELD_PATHS.get(path)
            self.add_error(name if name in self.fields else None, errors)

    @property
    def has_rule_errors(self) -> bool:
        return bool(self.rule_errors) or any(row.errors for rows in self.rules.values() for row in rows)


class SampleTextForm(forms.Form):
    test_category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    test_text = forms.CharField(label=_("Sample text"), required=False,
                                widget=forms.Textarea(attrs={"rows": 3,
                                                             "placeholder": "{title}，生日快乐！{store} {clerk}"}))


# ------------------------------------------------------------------------------------------ the history


def _category_label(value: str) -> str:
    return str(Category(value).label) if value in Category.values else value


def setting_label(path: tuple[str, ...]) -> str:
    """("content_rules", "birthday", rule, "forbid_words") -> "Birthday greeting · “rule” · Forbidden words"."""
    if path[0] == "content_rules" and len(path) >= 3:
        parts = [_category_label(path[1]), f"“{gettext(path[2])}”"]
        if len(path) > 3:
            parts.append(str(CHECK_LABELS.get(path[3], path[3])))
        return " · ".join(parts)
    if path[0] == "preferred_times" and len(path) > 1:
        return f"{gettext('Preferred time')} · {path[1]}"
    dotted = ".".join(path)
    return str(SETTING_LABELS.get(dotted, dotted))


def _list(values: list) -> str:
    return "、".join(str(v) for v in values) or "—"


def setting_value(path: tuple[str, ...], value: Any) -> str:
    """How a value reads in the history; a whole rule (added or removed) is summed up with its checks."""
    if value is None:
        return "—"
    if path[0] == "content_rules" and isinstance(value, dict):
        parts = [f"{CHECK_LABELS[key]}: {_list(value[key])}" for key in RULE_CHECKS if value.get(key)]
        return "; ".join(parts) or "—"
    if path == ("marketing_categories",) and isinstance(value, list):
        return _list([_category_label(v) for v in value])
    if isinstance(value, list):
        return _list(value)
    return str(value)


def list_delta(old: Any, new: Any) -> tuple[list[str], list[str]]:
    """(added, removed) between two word lists."""
    if not isinstance(old, list) or not isinstance(new, list):
        return [], []
    return [v for v in new if v not in old], [v for v in old if v not in new]
