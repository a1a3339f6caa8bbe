"""The programme editor: a form over the rules document (discounts shown as 折), not a raw JSON box.

The form only converts between what the specialist types and the rules document; the rules themselves
are checked by loyalty.programme_services.programme_update, whose errors are put back next to the field.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.loyalty.programme import DEFAULT_COLORS, DEFAULT_NAMES, OTHER_COLOR, QUALIFY_MODES
from membercare.loyalty.programme_selectors import change_label, zhe
from membercare.org.models import Brand
from membercare.sales.models import Series

EXPIRY_CHOICES = [
    ("end_of_next_year", _("At the end of the year after they were earned")),
    ("days", _("A number of days after they were earned")),
    ("never", _("Never")),
]
GENERAL = ("accumulation_name", "window_days", "accumulation_valid_days", "auto_approve_upgrades",
           "retention_grace_levels", "points_per_yuan", "point_value", "max_redeem_share_pct", "points_expiry",
           "points_expiry_days", "offline_upload_working_days")
_TIER_ERROR = re.compile(r"^tiers\[(\d+)\](?:\.(.+))?$")
_PERK_ERROR = re.compile(r"^perks\[(\d+)\](?:\.(\w+))?$")
MAX_PERK_ROWS = 20  # loyalty.programme.MAX_PERKS
NEW_LEVEL_ROWS = 3  # empty rows to add levels with, each save
QUALIFY_CHOICES = [("any", _("Any one rule met upgrades")), ("all", _("Every rule must be met"))]
assert {c for c, _l in QUALIFY_CHOICES} == set(QUALIFY_MODES)
MAX_PROMO_ROWS = 50  # loyalty.programme.MAX_PROMOTIONS
_PROMO_ERROR = re.compile(r"^points_promotions\[(\d+)\](?:\.(\w+))?$")
PROMO_PARTS = ("name", "from", "to", "multiplier", "weekdays", "series", "tiers", "stores")
WEEKDAY_CHOICES = [(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")),
                   (6, _("Sun"))]
PERIOD_CHOICES = [
    ("season", _("per quarter (the season)")),
    ("quarter", _("per quarter")),
    ("month", _("per month")),
    ("year", _("per year")),
    ("none", _("for the card's lifetime")),
]


def _zhe_field(label, required=True):
    return forms.DecimalField(label=label, required=required, min_value=Decimal("0"), max_value=Decimal("10"),
                              decimal_places=1, max_digits=3,
                              widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
                              help_text=_("10折 = full price, 8.5折 = 15 percent off"))


def _money_field(label, required=False):
    return forms.DecimalField(label=label, required=required, min_value=Decimal("0"), decimal_places=2,
                              max_digits=12, widget=forms.NumberInput(attrs={"step": "1", "inputmode": "decimal"}))


def _multiplier_field(label, minimum="0", required=True):
    return forms.DecimalField(label=label, required=required, min_value=Decimal(minimum), max_value=Decimal("10"),
                              decimal_places=2, max_digits=4,
                              widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))


def _codes_text(value: str) -> list[str]:
    return [c for c in re.split(r"[\s,，、]+", value or "") if c]


def _share_from_zhe(value: Decimal) -> str:
    return str(((Decimal("10") - value) / 10).quantize(Decimal("0.01")))


class ProgrammeForm(forms.Form):
    base_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    effective_from = forms.DateField(label=_("Applies from"),
                                     widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    note = forms.CharField(label=_("Note"), max_length=200, required=False,
                           help_text=_("Why the programme changes, e.g. the spring campaign"))
    accumulation_name = forms.CharField(label=_("Accumulation card: name"), max_length=20, required=False,
                                        help_text=_("e.g. Standard card; empty: the usual name"))
    window_days = forms.IntegerField(label=_("Rolling window (days)"), min_value=1)
    accumulation_valid_days = forms.IntegerField(label=_("Accumulation card valid for (days)"), min_value=1)
    auto_approve_upgrades = forms.BooleanField(label=_("Upgrades approved automatically"), required=False)
    retention_grace_levels = forms.IntegerField(label=_("Anniversary retention grace (levels)"), min_value=0)
    points_per_yuan = forms.IntegerField(label=_("Points per ¥1 paid"), min_value=0)
    point_value = forms.DecimalField(label=_("Value of one point (¥)"), min_value=Decimal("0"), decimal_places=4,
                                     max_digits=8)
    max_redeem_share_pct = forms.DecimalField(label=_("Most of a receipt payable with points (%)"),
                                              min_value=Decimal("0"), max_value=Decimal("100"), decimal_places=0,
                                              max_digits=3)
    points_expiry = forms.ChoiceField(label=_("Points expire"), choices=EXPIRY_CHOICES)
    points_expiry_days = forms.IntegerField(label=_("Days until points expire"), min_value=1, required=False)
    offline_upload_working_days = forms.IntegerField(label=_("Offline upload deadline (working days)"), min_value=0)

    def __init__(self, *args, base_rules: dict[str, Any], base_version: int | None = None, **kwargs):
        self.base_rules = copy.deepcopy(base_rules)
        super().__init__(*args, **kwargs)
        db_series = dict(Series.objects.values_list("code", "name"))
        rule_series = [s for t in self.base_rules["tiers"] for s in (t.get("single_receipt_by_series") or {})]
        self.series = list(db_series) + [s for s in dict.fromkeys(rule_series) if s not in db_series]
        brands = list(Brand.objects.order_by("pk").values_list("code", "name"))
        for tier in self.base_rules["tiers"]:  # brands named in the rules but not (yet) in the database
            for code in (tier.get("birthday") or {}).get("brands") or []:
                if code not in {b for b, _name in brands}:
                    brands.append((code, code))
        self.fields["accumulation_points_multiplier"] = _multiplier_field(
            _("Accumulation card: points multiplier (×)"))
        self.fields["accumulation_points_multiplier"].help_text = _("1 = the points per ¥1 as they are")
        self.earning_names = ["accumulation_points_multiplier"]
        for s in self.series:
            self.fields["series_rate_" + s] = forms.DecimalField(
                label=_("Points per ¥1 paid in %(series)s") % {"series": db_series.get(s, s)}, required=False,
                min_value=Decimal("0"), max_value=Decimal("100"), decimal_places=2, max_digits=5,
                widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
                help_text=_("Empty: the points per ¥1 paid above"))
            self.earning_names.append("series_rate_" + s)
        card_choices = [(c, self._level_label(c, t)) for c, t in (
            ("accumulation", None), *((t["code"], t) for t in self.base_rules["tiers"]))]
        series_choices = [(s, db_series.get(s, s)) for s in self.series]
        promos = [x for x in self.base_rules.get("points_promotions") or [] if isinstance(x, dict)]
        self.promo_rows: list[list[str]] = []
        self.promo_row_of: dict[int, int] = {}  # index in the rules' promotions -> the form's row
        for k in range(min(len(promos) + 2, MAX_PROMO_ROWS)):  # the promotions, and two empty rows for new ones
            n = {"n": k + 1}
            f = f"promo{k}_"
            self.fields[f + "name"] = forms.CharField(label=_("Promotion %(n)d: name") % n, required=False,
                                                      max_length=40,
                                                      help_text=_("e.g. double points on member day") if k == 0 else "")
            self.fields[f + "from"] = forms.DateField(label=_("First day"), required=False,
                                                      widget=forms.DateInput(attrs={"type": "date"},
                                                                             format="%Y-%m-%d"))
            self.fields[f + "to"] = forms.DateField(label=_("Last day"), required=False,
                                                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
            self.fields[f + "multiplier"] = _multiplier_field(_("Points multiplier (×)"), "1", required=False)
            self.fields[f + "weekdays"] = forms.TypedMultipleChoiceField(
                label=_("Only on"), choices=WEEKDAY_CHOICES, coerce=int, required=False,
                widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every day"))
            self.fields[f + "series"] = forms.MultipleChoiceField(
                label=_("Only in the series"), choices=series_choices, required=False,
                widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every series"))
            self.fields[f + "tiers"] = forms.MultipleChoiceField(
                label=_("Only with the cards"), choices=card_choices, required=False,
                widget=forms.CheckboxSelectMultiple, help_text=_("None ticked: every card"))
            self.fields[f + "stores"] = forms.CharField(
                label=_("Only at the stores (codes)"), required=False, max_length=400,
                help_text=_("Store codes separated by commas; empty: every store"))
            self.promo_rows.append([f + part for part in PROMO_PARTS])
        self.tier_fields: list[tuple[str, str, list[str]]] = []
        self.perk_rows: dict[str, int] = {}
        self.perk_row_of: dict[tuple[str, int], int] = {}  # (card, index in the rules' perks) -> the form's row
        self.tier_row_of: dict[int, str] = {}  # index in the rules' tiers as saved -> the form's prefix
        codes = [t["code"] for t in self.base_rules["tiers"]]
        for tier in self.base_rules["tiers"]:
            code = tier["code"]
            names = self._level_fields(f"t_{code}_", tier, db_series, brands, codes)
            self.tier_fields.append((code, self._level_label(code, tier), names))
        self.new_levels: list[list[str]] = []
        for k in range(NEW_LEVEL_ROWS):
            self.new_levels.append(self._level_fields(f"new{k}_", None, db_series, brands, codes))
        if not self.is_bound:
            self.initial.update(self._initial(base_version))

    def _level_label(self, code: str, tier: dict[str, Any] | None) -> str:
        if code == "accumulation":
            return self.base_rules.get("accumulation_name") or str(DEFAULT_NAMES["accumulation"])
        name = (tier or {}).get("name")
        return name or str(DEFAULT_NAMES.get(code, code))

    def _level_fields(self, p: str, tier: dict[str, Any] | None, db_series: dict[str, str],
                      brands: list[tuple[str, str]], codes: list[str]) -> list[str]:
        """A level's fields under the prefix `p` (t_<code>_ for a level of the programme, new<k>_ for a row to
        add one with); returns their names in the order shown."""
        new = tier is None
        code = "" if new else tier["code"]
        names = []
        if new:
            self.fields[p + "code"] = forms.CharField(
                label=_("Level code"), required=False, max_length=20,
                help_text=_("Lowercase letters, digits or _; it cannot change once saved"))
            names.append(p + "code")
        self.fields[p + "name"] = forms.CharField(
            label=_("Level name"), required=False, max_length=20,
            help_text=_("e.g. Silver card") if new else _("Empty: %(name)s") % {"name": self._level_label(code, None)})
        self.fields[p + "color"] = forms.CharField(
            label=_("Card colour"), required=False, max_length=7,
            widget=forms.TextInput(attrs={"placeholder": DEFAULT_COLORS.get(code, OTHER_COLOR), "size": 8}),
            help_text=_("#rrggbb; empty: the default colour"))
        self.fields[p + "rank"] = forms.IntegerField(
            label=_("Level rank"), min_value=1, max_value=99, required=not new,
            help_text=_("Higher is better; each level of a brand has its own"))
        self.fields[p + "issue_brand"] = forms.ChoiceField(label=_("Issuing brand"), choices=brands,
                                                           required=not new)
        names += [p + "name", p + "color", p + "rank", p + "issue_brand"]
        self.fields[p + "zhe"] = _zhe_field(_("Full-price discount (折)"), required=not new)
        self.fields[p + "points_mult"] = _multiplier_field(_("Points multiplier (×)"), required=not new)
        self.fields[p + "points_mult"].help_text = _("What a sale with this card earns is multiplied by it")
        names += [p + "zhe", p + "points_mult"]
        for s in self.series:
            self.fields[p + "series_" + s] = _money_field(
                _("One receipt ≥ ¥ in %(series)s") % {"series": db_series.get(s, s)})
            names.append(p + "series_" + s)
        self.fields[p + "single_receipt"] = _money_field(_("One receipt ≥ ¥ in total"))
        self.fields[p + "rolling_paid"] = _money_field(_("Paid ≥ ¥ within the rolling window"))
        self.fields[p + "purchase_days"] = forms.IntegerField(
            label=_("Purchase days ≥ within the rolling window"), required=False, min_value=1, max_value=366,
            help_text=_("Days with a purchase at the brand's stores; empty: no such rule"))
        self.fields[p + "qualify"] = forms.ChoiceField(label=_("Rules to meet"), choices=QUALIFY_CHOICES,
                                                       required=False)
        self.fields[p + "requires"] = forms.ChoiceField(
            label=_("Rolling rules need the card"), required=False,
            choices=[("", _("No prerequisite"))] + [(c, self._level_label(c, t)) for c, t in (
                (t["code"], t) for t in self.base_rules["tiers"]) if c != code])
        self.fields[p + "upgrade_points"] = forms.IntegerField(
            label=_("Points to buy this level"), required=False, min_value=1, max_value=10_000_000,
            help_text=_("Empty: this level cannot be bought with points"))
        names += [p + "single_receipt", p + "rolling_paid", p + "purchase_days", p + "qualify", p + "requires",
                  p + "upgrade_points"]
        if not new:
            self.fields[p + "bday_items"] = forms.IntegerField(label=_("Birthday privilege: items"), min_value=0,
                                                               help_text=_("0 = no birthday privilege"))
            self.fields[p + "bday_zhe"] = _zhe_field(_("Birthday privilege: discount (折)"), required=False)
            self.fields[p + "bday_brands"] = forms.MultipleChoiceField(
                label=_("Birthday privilege: at the stores of"), choices=brands, required=False,
                widget=forms.CheckboxSelectMultiple)
            self.fields[p + "bday_self_operated"] = forms.BooleanField(
                label=_("Birthday privilege: self-operated stores only"), required=False)
            self.fields[p + "bday_id_required"] = forms.BooleanField(
                label=_("Birthday privilege: ID number on the receipt"), required=False,
                help_text=_("The clerk enters the member's ID number; it must match the profile."))
            names += [p + "bday_items", p + "bday_zhe", p + "bday_brands", p + "bday_self_operated",
                      p + "bday_id_required"]
        perks = [x for x in (tier or {}).get("perks") or [] if isinstance(x, dict)]
        rows = min(len(perks) + 2, MAX_PERK_ROWS)
        for k in range(rows):  # the card's perks, one row each, and two empty rows for new ones
            n = {"n": k + 1}
            self.fields[f"{p}perk{k}_code"] = forms.CharField(
                label=_("Perk %(n)d: code") % n, required=False, max_length=30,
                help_text=_("Lowercase letters, digits or _") if k == 0 else "")
            self.fields[f"{p}perk{k}_name"] = forms.CharField(label=_("Perk %(n)d: name") % n, required=False,
                                                              max_length=40)
            self.fields[f"{p}perk{k}_quota"] = forms.IntegerField(
                label=_("Perk %(n)d: uses per period") % n, required=False, min_value=1, max_value=999,
                help_text=_("Empty: no limit") if k == 0 else "")
            self.fields[f"{p}perk{k}_period"] = forms.ChoiceField(label=_("Perk %(n)d: period") % n,
                                                                  choices=PERIOD_CHOICES, required=False)
            names += [f"{p}perk{k}_{part}" for part in ("code", "name", "quota", "period")]
        self.perk_rows[p] = rows
        if not new:
            self.fields[p + "remove"] = forms.BooleanField(
                label=_("Remove this level"), required=False,
                help_text=_("Refused while active cards hold it"))
            names.append(p + "remove")
        return names

    def _initial(self, base_version: int | None) -> dict[str, Any]:
        r = self.base_rules
        expiry = str(r["points_expiry"])
        data: dict[str, Any] = {
            "base_version": base_version, "effective_from": timezone.localdate(),
            **{k: r[k] for k in ("window_days", "accumulation_valid_days", "auto_approve_upgrades",
                                 "retention_grace_levels", "points_per_yuan", "point_value",
                                 "offline_upload_working_days")},
            "max_redeem_share_pct": (Decimal(str(r["max_redeem_share"])) * 100).quantize(Decimal("1")),
            "points_expiry": "days" if expiry.startswith("days:") else expiry,
            "points_expiry_days": int(expiry[5:]) if expiry.startswith("days:") else None,
        }
        data["accumulation_name"] = r.get("accumulation_name") or ""
        data["accumulation_points_multiplier"] = Decimal(str(r.get("accumulation_points_multiplier") or "1"))
        for s in self.series:
            data["series_rate_" + s] = (r.get("series_points_per_yuan") or {}).get(s)
        for k, promo in enumerate(x for x in r.get("points_promotions") or [] if isinstance(x, dict)):
            if k < MAX_PROMO_ROWS:
                f = f"promo{k}_"
                data.update({f + "name": promo.get("name"), f + "from": promo.get("from"), f + "to": promo.get("to"),
                             f + "multiplier": promo.get("multiplier"), f + "weekdays": promo.get("weekdays") or [],
                             f + "series": promo.get("series") or [], f + "tiers": promo.get("tiers") or [],
                             f + "stores": ", ".join(promo.get("stores") or [])})
        for tier in r["tiers"]:
            p = f"t_{tier['code']}_"
            data[p + "zhe"] = zhe(tier.get("discount") or 0)
            data[p + "points_mult"] = Decimal(str(tier.get("points_multiplier") or "1"))
            for s in self.series:
                data[p + "series_" + s] = (tier.get("single_receipt_by_series") or {}).get(s)
            data[p + "single_receipt"] = tier.get("single_receipt")
            data[p + "rolling_paid"] = tier.get("rolling_paid")
            data.update({p + "name": tier.get("name") or "", p + "color": tier.get("color") or "",
                         p + "rank": tier.get("rank", 1), p + "issue_brand": tier.get("issue_brand") or "MAIN",
                         p + "purchase_days": tier.get("purchase_days"), p + "qualify": tier.get("qualify") or "any",
                         p + "requires": tier.get("requires") or "", p + "upgrade_points": tier.get("upgrade_points")})
            bday = tier.get("birthday") or {}
            data[p + "bday_items"] = bday.get("items", 0)
            data[p + "bday_zhe"] = zhe(bday["discount"]) if bday.get("discount") is not None else None
            data[p + "bday_brands"] = bday.get("brands") or []
            data[p + "bday_self_operated"] = bday.get("self_operated_only", True)
            data[p + "bday_id_required"] = bday.get("id_number_required", False)
            for k, perk in enumerate(x for x in tier.get("perks") or [] if isinstance(x, dict)):
                if k < MAX_PERK_ROWS:
                    data.update({f"{p}perk{k}_code": perk.get("code"), f"{p}perk{k}_name": perk.get("name"),
                                 f"{p}perk{k}_quota": perk.get("quota"), f"{p}perk{k}_period": perk.get("period")})
        return data

    def general_fields(self):
        return [self[name] for name in GENERAL]

    def earning_fields(self):
        return [self[name] for name in self.earning_names]

    def promotions(self):
        return [[self[n] for n in names] for names in self.promo_rows]

    def tiers(self):
        return [(label, [self[n] for n in names]) for _code, label, names in self.tier_fields]

    def new_level_rows(self):
        return [[self[n] for n in names] for names in self.new_levels]

    def clean(self):
        data = super().clean()
        if data.get("points_expiry") == "days" and not data.get("points_expiry_days"):
            self.add_error("points_expiry_days", _("Give the number of days."))
        for code, _label, _names in self.tier_fields:
            p = f"t_{code}_"
            if data.get(p + "bday_items") and data.get(p + "bday_zhe") is None:
                self.add_error(p + "bday_zhe", _("Give the birthday discount."))
        for k in range(len(self.new_levels)):
            p = f"new{k}_"
            if not self._new_row_used(data, p):
                continue
            for name, message in (("code", _("Give the level's code.")), ("name", _("Give the level's name.")),
                                  ("rank", _("Give the level's rank.")), ("zhe", _("Give the discount.")),
                                  ("issue_brand", _("Choose the issuing brand."))):
                if data.get(p + name) in (None, "") and p + name not in self.errors:
                    self.add_error(p + name, message)
        return data

    @staticmethod
    def _new_row_used(data: dict[str, Any], p: str) -> bool:
        return bool((data.get(p + "code") or "").strip() or (data.get(p + "name") or "").strip())

    def rules(self) -> dict[str, Any]:
        """The rules document the specialist typed (call after is_valid())."""
        d = self.cleaned_data
        rules = copy.deepcopy(self.base_rules)
        for name in ("window_days", "accumulation_valid_days", "auto_approve_upgrades", "retention_grace_levels",
                     "points_per_yuan", "offline_upload_working_days"):
            rules[name] = d[name]
        rules["point_value"] = str(d["point_value"].normalize())
        rules["max_redeem_share"] = str((d["max_redeem_share_pct"] / 100).quantize(Decimal("0.01")))
        rules["points_expiry"] = (f"days:{d['points_expiry_days']}" if d["points_expiry"] == "days"
                                  else d["points_expiry"])
        rules["accumulation_points_multiplier"] = str(d["accumulation_points_multiplier"])
        rules["series_points_per_yuan"] = {s: str(d["series_rate_" + s]) for s in self.series
                                           if d.get("series_rate_" + s) is not None}
        promos = []
        for k in range(len(self.promo_rows)):
            f = f"promo{k}_"
            name = (d.get(f + "name") or "").strip()
            if not (name or d.get(f + "from") or d.get(f + "to") or d.get(f + "multiplier") is not None):
                continue  # an empty row is no promotion
            self.promo_row_of[len(promos)] = k
            promo: dict[str, Any] = {
                "name": name, "from": d[f + "from"].isoformat() if d.get(f + "from") else "",
                "to": d[f + "to"].isoformat() if d.get(f + "to") else "",
                "multiplier": str(d[f + "multiplier"]) if d.get(f + "multiplier") is not None else ""}
            for part in ("weekdays", "series", "tiers"):
                if d.get(f + part):
                    promo[part] = list(d[f + part])
            if _codes_text(d.get(f + "stores") or ""):
                promo["stores"] = _codes_text(d[f + "stores"])
            promos.append(promo)
        rules["points_promotions"] = promos
        rules["accumulation_name"] = (d.get("accumulation_name") or "").strip()
        tiers = []
        self.tier_row_of = {}
        for tier in rules["tiers"]:
            p = f"t_{tier['code']}_"
            if d.get(p + "remove"):
                continue  # the service refuses it while cards hold the level
            self._level_rules(tier, p, d)
            self.tier_row_of[len(tiers)] = p
            tiers.append(tier)
        for k in range(len(self.new_levels)):
            p = f"new{k}_"
            if not self._new_row_used(d, p):
                continue  # an empty row adds no level
            tier = {"code": (d.get(p + "code") or "").strip(), "brands": [], "birthday": None}
            self._level_rules(tier, p, d)
            self.tier_row_of[len(tiers)] = p
            tiers.append(tier)
        rules["tiers"] = tiers
        return rules

    def _level_rules(self, tier: dict[str, Any], p: str, d: dict[str, Any]) -> None:
        """Write a level's fields (prefix `p`) into its rules."""
        tier["discount"] = _share_from_zhe(d[p + "zhe"])
        if d[p + "points_mult"] is not None and (d[p + "points_mult"] != 1 or "points_multiplier" in tier):
            tier["points_multiplier"] = str(d[p + "points_mult"])
        tier["single_receipt_by_series"] = {s: str(d[p + "series_" + s]) for s in self.series
                                            if d.get(p + "series_" + s) is not None}
        for name in ("single_receipt", "rolling_paid"):
            tier[name] = str(d[p + name]) if d.get(p + name) is not None else None
        name = (d.get(p + "name") or "").strip()
        if name or "name" in tier:
            tier["name"] = name
        color = (d.get(p + "color") or "").strip()
        if color or "color" in tier:
            tier["color"] = color
        tier["rank"] = d[p + "rank"]
        tier["issue_brand"] = d[p + "issue_brand"]
        if tier["issue_brand"] not in tier.setdefault("brands", []):
            tier["brands"] = [*tier["brands"], tier["issue_brand"]]
        if d.get(p + "purchase_days") is not None or "purchase_days" in tier:
            tier["purchase_days"] = d.get(p + "purchase_days")
        qualify = d.get(p + "qualify") or "any"
        if qualify != "any" or "qualify" in tier:
            tier["qualify"] = qualify
        tier["requires"] = d.get(p + "requires") or None
        if d.get(p + "upgrade_points") is not None or "upgrade_points" in tier:
            tier["upgrade_points"] = d.get(p + "upgrade_points")
        if p + "bday_items" in self.fields:
            if d[p + "bday_items"]:
                tier["birthday"] = {"items": d[p + "bday_items"], "discount": _share_from_zhe(d[p + "bday_zhe"]),
                                    "brands": list(d[p + "bday_brands"]),
                                    "self_operated_only": bool(d.get(p + "bday_self_operated")),
                                    "id_number_required": bool(d.get(p + "bday_id_required"))}
            else:
                tier["birthday"] = None
        perks = []
        for k in range(self.perk_rows.get(p, 0)):
            code, name = (d.get(f"{p}perk{k}_code") or "").strip(), (d.get(f"{p}perk{k}_name") or "").strip()
            if code or name:  # an empty row is no perk
                self.perk_row_of[(p, len(perks))] = k
                perks.append({"code": code, "name": name, "quota": d.get(f"{p}perk{k}_quota"),
                              "period": d.get(f"{p}perk{k}_period") or "none"})
        if perks or "perks" in tier:  # a version without perks stays without the key when none are typed
            tier["perks"] = perks

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put programme_update's errors (keyed by rule path) next to the form field they concern."""
        for key, messages in exc.message_dict.items():
            field = self._field_for(key)
            for message in messages:
                self.add_error(field, message if field or key in ("__all__", "tiers")
                               else f"{self._label(key)}: {message}")

    def _label(self, key: str) -> str:
        match = _TIER_ERROR.match(key)
        p = self.tier_row_of.get(int(match.group(1))) if match else None
        if p:
            code = p[2:-1] if p.startswith("t_") else (self.data.get(p + "code") or p)
            key = f"tiers.{code}" + (f".{match.group(2)}" if match.group(2) else "")
            if not match.group(2):
                return self._level_label(code, next((t for t in self.base_rules["tiers"] if t["code"] == code),
                                                    None))
        return change_label(key)

    def _field_for(self, key: str) -> str | None:
        if key == "max_redeem_share":
            return "max_redeem_share_pct"
        if key in self.fields:
            return key
        if key.startswith("series_points_per_yuan."):
            name = "series_rate_" + key.split(".", 1)[1]
            return name if name in self.fields else None
        promo = _PROMO_ERROR.match(key)
        if promo:
            row = self.promo_row_of.get(int(promo.group(1)), 0)
            part = promo.group(2) if promo.group(2) in PROMO_PARTS else "name"
            return f"promo{row}_{part}" if row < len(self.promo_rows) else None
        if key == "points_promotions":
            return "promo0_name"
        match = _TIER_ERROR.match(key)
        if match:
            index, rest = int(match.group(1)), match.group(2) or ""
            p = self.tier_row_of.get(index)
            if p:
                name = {"discount": "zhe", "points_multiplier": "points_mult", "single_receipt": "single_receipt",
                        "rolling_paid": "rolling_paid", "birthday": "bday_zhe", "birthday.items": "bday_items",
                        **{k: k for k in ("name", "color", "rank", "issue_brand", "purchase_days", "qualify",
                                          "requires", "code", "upgrade_points")}}.get(rest)
                perk = _PERK_ERROR.match(rest)
                if perk:
                    row = self.perk_row_of.get((p, int(perk.group(1))), 0)
                    part = perk.group(2) if perk.group(2) in ("code", "name", "quota", "period") else "code"
                    name = f"perk{row}_{part}"
                if name == "code" and p.startswith("t_"):
                    name = "name"  # a level of the programme keeps its code: shown by its name
                if name and p + name in self.fields:
                    return p + name
        return None
