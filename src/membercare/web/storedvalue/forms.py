"""The stored-value rules editor: a form over storedvalue.rules.DEFAULTS (every setting) and the bonus tiers as
an editable table. The form only converts between what HQ types and the rules document; the rules themselves
(the 2012 measures' limits, sense) are checked by storedvalue.rules.rules_update, whose refusals are put back
next to the field (or the tier's row) they name."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from membercare.loyalty.programme import programme_at
from membercare.sales.models import PaymentMethod
from membercare.storedvalue.rules import MAX_TIERS, METHOD_CODE, field_label

MAX_AMOUNT = Decimal("99999999.99")
_TIER_KEY = re.compile(r"^bonus_tiers\[(\d+)\](?:\.(\w+))?$")
# the rules document's path -> the form's field
FIELD_OF = {"named.max_balance": "named_max_balance", "named.valid_days": "named_valid_days",
            "anonymous.max_balance": "anonymous_max_balance", "anonymous.valid_days": "anonymous_valid_days"}
TIER_FIELD_OF = {"min_amount": "min_amount", "bonus": "bonus", "tiers": "levels", "from": "start",
                 "until": "end"}


def _money(label, help_text, required=True):
    return forms.DecimalField(label=label, help_text=help_text, required=required, decimal_places=2,
                              max_digits=10, max_value=MAX_AMOUNT,
                              widget=forms.TextInput(attrs={"inputmode": "decimal", "maxlength": 14}))


def _text(value) -> str | None:
    return None if value is None else str(value.quantize(Decimal("0.01")))


class RulesForm(forms.Form):
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    scope = forms.ChoiceField(label=_("Card scope"), choices=[
        ("chain", _("One card for the whole chain")), ("brand", _("One card per brand"))],
        help_text=_("Whether a member's balance is spent at every store of the chain or only at the stores of "
                    "the brand where it was topped up. Changing it later does not move existing balances."))
    spend_order = forms.ChoiceField(label=_("Spend order"), choices=[
        ("proportional", _("Principal and bonus in the ratio of the balances")),
        ("principal_first", _("Principal first, then the bonus")),
        ("bonus_first", _("Bonus first, then the principal"))],
        help_text=_("How a payment with stored value takes principal (money paid in) and bonus (given by the "
                    "chain). A return gives back in the same split."))
    points_on = forms.ChoiceField(label=_("Points on stored-value payments"), choices=[
        ("principal", _("On the principal part only (the bonus earns none)")), ("all", _("On the whole payment")),
        ("none", _("None"))],
        help_text=_("The principal was paid (and earned no points at the top-up); the bonus is the chain's gift."))
    named_max_balance = _money(_("Named card: most it may hold (¥)"), _(
        "Principal and bonus after a top-up. Legal maximum ¥5,000: 单张记名卡限额不得超过5000元 "
        "(单用途商业预付卡管理办法, 2012)."))
    named_valid_days = forms.IntegerField(label=_("Named card: valid for (days)"), required=False, min_value=1,
                                          max_value=36500, help_text=_(
        "Leave empty: 记名卡不得设有效期 (单用途商业预付卡管理办法, 2012)."))
    anonymous_max_balance = _money(_("Anonymous card: most it may hold (¥)"), _(
        "Legal maximum ¥1,000: 单张不记名卡限额不得超过1000元 (单用途商业预付卡管理办法, 2012). Anonymous cards are "
        "not issued yet: kept for gift cards."))
    anonymous_valid_days = forms.IntegerField(label=_("Anonymous card: valid for (days)"), min_value=1,
                                              max_value=36500, help_text=_(
        "At least 1,095 days: 不记名卡有效期不得少于3年 (单用途商业预付卡管理办法, 2012)."))
    min_top_up = _money(_("Smallest top-up (¥)"), _("The chain's choice (default ¥1.00)."))
    cash_methods = forms.MultipleChoiceField(label=_("Payment methods that count as cash"), required=False,
                                             widget=forms.CheckboxSelectMultiple, help_text=_(
        "For the rule below: a large top-up may not be paid with these."))
    non_cash_from = _money(_("No cash from (¥)"), _(
        "A top-up of this amount or more must be paid by bank transfer or card, not in cash: 个人一次性购卡金额达5万元"
        "（含）以上的，应通过银行转账方式购买 (单用途商业预付卡管理办法, 2012). Empty: no such limit."), required=False)
    real_name_from = _money(_("Real name required from (¥)"), _(
        "A top-up of this amount or more needs the member's ID number on file (实名登记 from ¥10,000 in one "
        "purchase, 单用途商业预付卡管理办法, 2012). Empty: never asked."), required=False)
    member_code_above = _money(_("Member code asked above (¥)"), _(
        "A payment with stored value above this amount needs the member's 6-digit code. The chain's choice; "
        "empty: never asked."), required=False)
    member_code_tries = forms.IntegerField(label=_("Wrong member codes before the lock"), min_value=1,
                                           max_value=20, help_text=_("The chain's choice (default 5)."))
    member_code_lock_minutes = forms.IntegerField(label=_("Member code locked for (minutes)"), min_value=1,
                                                  max_value=7 * 24 * 60, help_text=_(
        "After the wrong tries above, the card's code is locked this long (default 30)."))

    GROUPS = (
        (_("Card limits"), ("scope", "named_max_balance", "named_valid_days", "anonymous_max_balance",
                      "anonymous_valid_days")),
        (_("Top-ups"), ("min_top_up", "non_cash_from", "real_name_from", "cash_methods")),
        (_("Spending with stored value"), ("spend_order", "points_on", "member_code_above", "member_code_tries",
                         "member_code_lock_minutes")),
    )

    def __init__(self, *args, document: dict[str, Any] | None = None, base_version: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        methods = list(PaymentMethod.objects.exclude(code=METHOD_CODE).order_by("position", "code")
                       .values_list("code", "name"))
        self.fields["cash_methods"].choices = methods
        if document is not None and not self.is_bound:
            self.initial.update(self.initial_from(document, base_version))

    @staticmethod
    def initial_from(d: dict[str, Any], base_version: int | None) -> dict[str, Any]:
        return {"base_version": base_version, "scope": d["scope"], "spend_order": d["spend_order"],
                "points_on": d["points_on"], "named_max_balance": d["named"]["max_balance"],
                "named_valid_days": d["named"]["valid_days"], "anonymous_max_balance": d["anonymous"]["max_balance"],
                "anonymous_valid_days": d["anonymous"]["valid_days"], "min_top_up": d["min_top_up"],
                "cash_methods": list(d["cash_methods"]), "non_cash_from": d["non_cash_from"],
                "real_name_from": d["real_name_from"], "member_code_above": d["member_code_above"],
                "member_code_tries": d["member_code_tries"], "member_code_lock_minutes": d["member_code_lock_minutes"]}

    def groups(self):
        return [(label, [self[name] for name in names]) for label, names in self.GROUPS]

    def changes(self) -> dict[str, Any]:
        """The settings as the rules document says them (call after is_valid())."""
        c = self.cleaned_data
        return {"scope": c["scope"], "spend_order": c["spend_order"], "points_on": c["points_on"],
                "named": {"max_balance": _text(c["named_max_balance"]), "valid_days": c["named_valid_days"]},
                "anonymous": {"max_balance": _text(c["anonymous_max_balance"]),
                              "valid_days": c["anonymous_valid_days"]},
                "min_top_up": _text(c["min_top_up"]), "cash_methods": list(c["cash_methods"]),
                "non_cash_from": _text(c["non_cash_from"]), "real_name_from": _text(c["real_name_from"]),
                "member_code_above": _text(c["member_code_above"]), "member_code_tries": c["member_code_tries"],
                "member_code_lock_minutes": c["member_code_lock_minutes"]}


class TierForm(forms.Form):
    min_amount = forms.DecimalField(label=_("Top-up of at least (¥)"), required=False, decimal_places=2,
                                    max_digits=10, max_value=MAX_AMOUNT,
                                    widget=forms.TextInput(attrs={"inputmode": "decimal", "maxlength": 14}))
    bonus = forms.DecimalField(label=_("Bonus (¥)"), required=False, decimal_places=2, max_digits=10,
                               max_value=MAX_AMOUNT,
                               widget=forms.TextInput(attrs={"inputmode": "decimal", "maxlength": 14}))
    levels = forms.MultipleChoiceField(label=_("Card levels (none ticked: every member)"), required=False,
                                       choices=[], widget=forms.CheckboxSelectMultiple)
    start = forms.DateField(label=_("Valid from"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("Valid until"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        programme = programme_at()  # the chain's levels, by their names
        self.fields["levels"].choices = [(code, programme.label(code)) for code in (
            "accumulation", *(t.code for t in programme.tiers))]

    def is_blank(self) -> bool:
        c = getattr(self, "cleaned_data", {}) or {}
        return all(not c.get(name) for name in ("min_amount", "bonus", "levels", "start", "end"))

    def clean(self):
        data = super().clean()
        if not self.is_blank() and (data.get("min_amount") is None or data.get("bonus") is None):
            self.add_error("min_amount" if data.get("min_amount") is None else "bonus",
                           _("Give both the amount and the bonus, or clear the row."))
        return data

    def document(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {"min_amount": _text(c["min_amount"]), "bonus": _text(c["bonus"]), "tiers": list(c["levels"]),
                "from": c["start"].isoformat() if c.get("start") else None,
                "until": c["end"].isoformat() if c.get("end") else None}


TierFormSet = forms.formset_factory(TierForm, extra=2, max_num=MAX_TIERS, absolute_max=MAX_TIERS,
                                    validate_max=True)


def tier_initial(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"min_amount": t.get("min_amount"), "bonus": t.get("bonus"), "levels": list(t.get("tiers") or []),
             "start": t.get("from"), "end": t.get("until")} for t in document.get("bonus_tiers") or []]


def tiers_document(formset) -> tuple[list[dict[str, Any]], list[int]]:
    """The bonus tiers typed (blank rows left out) and, for each, its row in the table."""
    rows = [(i, f) for i, f in enumerate(formset.forms) if not f.is_blank()]
    return [f.document() for _i, f in rows], [i for i, _f in rows]


def add_service_errors(form: RulesForm, formset, exc: ValidationError, rows: list[int]) -> None:
    """Put rules_update's refusal (keyed by the setting's path) next to the field or the tier's row it names."""
    for key, messages in exc.message_dict.items():
        match = _TIER_KEY.match(key)
        if match and int(match.group(1)) < len(rows):
            tier_form = formset.forms[rows[int(match.group(1))]]
            field = TIER_FIELD_OF.get(match.group(2) or "")
            for message in messages:
                tier_form.add_error(field, message)
                if field is None:
                    form.add_error(None, message)
            continue
        name = FIELD_OF.get(key, key)
        for message in messages:
            if name in form.fields:
                form.add_error(name, message)
            else:
                form.add_error(None, message if key in ("__all__", "bonus_tiers") else
                               f"{field_label(key)}: {message}")
