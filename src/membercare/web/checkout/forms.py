"""Forms of the counter checkout (stores without a POS integration) and of returns.

They only read what was typed; every rule (identification, prices, the birthday privilege, points) is
checked by checkout.pipeline, whose refusals the views put next to the field they concern.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from membercare.checkout.payments import payment_methods_ensure_default
from membercare.checkout.pipeline import LineIn, ReturnLineIn
from membercare.org.models import Store
from membercare.sales.models import PaymentMethod

BIG = {"autocomplete": "off", "class": "big"}
FIELDS = ("store", "walk_in", "card", "phone", "name", "birthday_date", "scan", "lines", "birthday", "id_number",
          "redeem_points", "coupon_code", "payment_method", "stored_value_amount", "member_code", "gift_card_code",
          "gift_card_amount", "perks", "__all__")
MAX_PERKS = 10  # perk codes one form may send (loyalty.perks refuses more on the sale too)


class CodesField(forms.Field):
    """Several short codes under one name (the member panel's perk boxes): bounded in number and length."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        codes = [str(v).strip() for v in value if str(v).strip()]
        if len(codes) > MAX_PERKS or any(len(c) > 30 for c in codes):
            raise forms.ValidationError(_("At most %(n)d perks, each a short code.") % {"n": MAX_PERKS})
        return list(dict.fromkeys(codes))


class CheckoutForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, required=False)  # one post per form, even on a double tap
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    walk_in = forms.BooleanField(label=_("Sale without a member"), required=False,
                                 help_text=_("The customer is not a member: no points, privileges or coupons."))
    card = forms.CharField(label=_("Card number"), required=False, max_length=30,
                           widget=forms.TextInput(attrs={**BIG, "autofocus": True}))
    phone = forms.CharField(label=_("Mobile phone"), required=False, max_length=30,
                            widget=forms.TextInput(attrs={**BIG, "inputmode": "tel"}))
    name = forms.CharField(label=pgettext_lazy("person", "Name"), required=False, max_length=50,
                           widget=forms.TextInput(attrs=BIG),
                           help_text=_("Card forgotten: name + phone + birthday"))
    birthday_date = forms.DateField(label=_("Birthday"), required=False,
                                    widget=forms.DateInput(attrs={**BIG, "type": "date"}, format="%Y-%m-%d"))
    birthday = forms.BooleanField(label=_("Birthday privilege"), required=False)
    id_number = forms.CharField(  # the programme may ask for it with the birthday privilege (seed 001)
        label=_("Member's ID number"), required=False, max_length=20,
        widget=forms.TextInput(attrs={**BIG, "autocomplete": "off", "style": "text-transform:uppercase"}),
        help_text=_("From the member's ID card: the birthday privilege asks for it."))
    redeem_points = forms.IntegerField(label=_("Points to redeem"), required=False, min_value=0,
                                       widget=forms.NumberInput(attrs={**BIG, "inputmode": "numeric"}))
    coupon_code = forms.CharField(label=_("Coupon code"), required=False, max_length=30,
                                  widget=forms.TextInput(attrs={**BIG, "style": "text-transform:uppercase"}))
    payment_method = forms.ModelChoiceField(label=_("Payment method"), queryset=PaymentMethod.objects.none(),
                                            required=False, to_field_name="code", empty_label=None,
                                            widget=forms.RadioSelect)
    stored_value_amount = forms.DecimalField(
        label=_("Paid with stored value"), required=False, min_value=Decimal("0.01"), max_digits=12, decimal_places=2,
        widget=forms.NumberInput(attrs={**BIG, "inputmode": "decimal", "step": "0.01"}),
        help_text=_("Part of the amount from the member's stored-value card; the rest with the method chosen."))
    member_code = forms.CharField(
        label=_("Member code"), required=False, max_length=20,
        widget=forms.PasswordInput(attrs={**BIG, "inputmode": "numeric", "autocomplete": "off"}),
        help_text=_("The member types it when more than the limit is paid with stored value."))
    gift_card_code = forms.CharField(  # a gift card (礼品卡) paying all or part: storedvalue.gift_tender
        label=_("Gift card code"), required=False, max_length=40,
        widget=forms.TextInput(attrs={**BIG, "style": "text-transform:uppercase"}))
    gift_card_amount = forms.DecimalField(
        label=_("Paid with the gift card"), required=False, min_value=Decimal("0.01"), max_digits=12,
        decimal_places=2, widget=forms.NumberInput(attrs={**BIG, "inputmode": "decimal", "step": "0.01"}),
        help_text=_("Empty: the whole amount due; the rest with the method chosen."))
    perks = CodesField(label=_("Perks used"), required=False)  # ticked in the member panel (loyalty.perks)
    # a keyboard-wedge scanner types the code and presses Enter; a clerk types a SKU or part of a name
    scan = forms.CharField(label=_("Scan or search a product"), required=False, max_length=50,
                           widget=forms.TextInput(attrs={**BIG, "enterkeyhint": "enter", "inputmode": "search"}))

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        payment_methods_ensure_default()
        self.fields["payment_method"].queryset = PaymentMethod.objects.filter(is_active=True)
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4().hex)
            first = stores.first()
            self.initial.setdefault("store", first.pk if first else None)
            method = self.fields["payment_method"].queryset.first()
            self.initial.setdefault("payment_method", method.code if method else None)

    @property
    def is_walk_in(self) -> bool:
        return bool(getattr(self, "cleaned_data", {}).get("walk_in"))

    @property
    def has_identity(self) -> bool:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return bool(data.get("card") or data.get("phone"))

    def identify_kwargs(self) -> dict:
        d = self.cleaned_data
        return {"card_number": (d.get("card") or "").strip(), "phone": (d.get("phone") or "").strip(),
                "name": (d.get("name") or "").strip(), "birthday": d.get("birthday_date") or ""}


class LineForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), required=False, max_length=30,
                          widget=forms.TextInput(attrs={**BIG, "style": "text-transform:uppercase"}))
    quantity = forms.IntegerField(label=_("Quantity"), required=False, min_value=1, max_value=999,
                                  widget=forms.NumberInput(attrs={**BIG, "inputmode": "numeric"}))
    promo_price = forms.DecimalField(label=_("Promotion price"), required=False, min_value=Decimal("0"),
                                     max_digits=10, decimal_places=2,
                                     widget=forms.NumberInput(attrs={**BIG, "inputmode": "decimal", "step": "0.01"}))


LineFormSet = forms.formset_factory(LineForm, extra=4, max_num=50, absolute_max=50)


def basket_lines(formset) -> list[LineIn]:
    """The filled-in rows (call after is_valid()); a row without a SKU is ignored, a blank quantity is 1."""
    lines = []
    for row in formset.cleaned_data:
        sku = (row.get("sku") or "").strip().upper()
        if sku:
            lines.append(LineIn(sku=sku, quantity=row.get("quantity") or 1, promo_price=row.get("promo_price")))
    return lines


def _total_forms(data) -> int:
    try:
        return max(0, min(int(data.get("line-TOTAL_FORMS") or 0), 50))
    except ValueError:
        return 0


def formset_with_one_more_row(data):
    data = data.copy()
    data["line-TOTAL_FORMS"] = str(min(_total_forms(data) + 1, 50))
    return data


def formset_with_product(data, sku: str):
    """The posted form with one more unit of `sku`: on its row when the basket has it at the full price (no
    promotion price), else on the first empty row or a new one; None when the basket's 50 rows are full.
    The scan box is emptied."""
    data = data.copy()
    total = _total_forms(data)
    empty = None
    for i in range(total):
        row_sku = (data.get(f"line-{i}-sku") or "").strip().upper()
        if row_sku == sku and not (data.get(f"line-{i}-promo_price") or "").strip():
            try:
                quantity = int(data.get(f"line-{i}-quantity") or 1)
            except ValueError:
                quantity = 1
            data[f"line-{i}-quantity"] = str(quantity + 1)
            data["scan"] = ""
            return data
        if not row_sku and empty is None:
            empty = i
    if empty is None:
        if total >= 50:
            return None
        empty = total
        data["line-TOTAL_FORMS"] = str(total + 1)
    data[f"line-{empty}-sku"], data[f"line-{empty}-quantity"] = sku, "1"
    data["scan"] = ""
    return data


class ReturnForm(forms.Form):
    """One quantity box per line of the original receipt: how many units come back."""

    token = forms.CharField(widget=forms.HiddenInput, required=False)
    exchange = forms.BooleanField(label=_("Exchange: a new sale for the same customer after the return"),
                                  required=False)

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for line, left in lines:
            name = f"qty_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=str(line.product), required=False, min_value=0,
                widget=forms.NumberInput(attrs={**BIG, "inputmode": "numeric", "min": 0, "max": left}))
            self.rows.append((line, left, name))
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4().hex)

    def row_fields(self):
        return [(line, left, self[name]) for line, left, name in self.rows]

    def return_lines(self) -> list[ReturnLineIn]:
        return [ReturnLineIn(line.pk, self.cleaned_data[name]) for line, _left, name in self.rows
                if self.cleaned_data.get(name)]
