"""Forms of the coupon pages: a new batch, and issuing it (a segment or a pasted list, the hold-out share, the
message). They only convert what people type; campaigns.services checks the rules and its errors are put back
next to the field."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.campaigns.models import CouponBatch
from membercare.campaigns.services import MAX_LIST, members_from_list
from membercare.messaging.models import MessageTemplate
from membercare.org.models import Brand
from membercare.sales.models import Series

from ..messaging.forms import AudienceForm


class BatchForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. Summer thank-you coupon")}))
    brand = forms.ModelChoiceField(label=_("Brand"), queryset=Brand.objects.none(), empty_label=None,
                                   help_text=_("The coupon is accepted at this brand's stores."))
    kind = forms.ChoiceField(label=_("Kind"), choices=CouponBatch.Kind.choices, widget=forms.RadioSelect,
                             initial=CouponBatch.Kind.AMOUNT)
    value = forms.DecimalField(label=_("Value"), min_value=Decimal("0.01"), max_digits=10, decimal_places=2,
                               help_text=_("Yuan off, or the percentage off (e.g. 10 means 10 percent off)."))
    min_spend = forms.DecimalField(label=_("Minimum spend"), required=False, min_value=Decimal("0"), max_digits=10,
                                   decimal_places=2,
                                   help_text=_("On the items the coupon applies to, before the coupon."))
    skus = forms.CharField(label=_("Only these products (SKUs)"), required=False,
                           help_text=_("SKUs separated by commas; empty: no product restriction."))
    series = forms.ModelMultipleChoiceField(label=_("Only these product series"), queryset=Series.objects.none(),
                                            required=False, widget=forms.CheckboxSelectMultiple)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"},
                                                                               format="%Y-%m-%d"))
    valid_to = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"},
                                                                              format="%Y-%m-%d"))
    stacks_with_tier = forms.BooleanField(
        label=_("Stacks with the card discount"), required=False,
        help_text=_("If not, the items it applies to are priced from the full price without the card discount; "
                    "a coupon that would then cost the member more is refused at the till."))
    template = forms.ModelChoiceField(label=_("Message template"), queryset=MessageTemplate.objects.none(),
                                      required=False, empty_label=_("None"),
                                      help_text=_("Use {coupon_code} and {coupon_until} in the text."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = Brand.objects.order_by("code")
        self.fields["series"].queryset = Series.objects.order_by("code")
        self.fields["template"].queryset = MessageTemplate.objects.filter(is_active=True).order_by("category", "name")
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("valid_from", today)
            self.initial.setdefault("valid_to", today + timezone.timedelta(days=30))

    def clean_skus(self) -> list[str]:
        return [s for s in re.split(r"[,，、\s]+", (self.cleaned_data.get("skus") or "").upper()) if s]


class IssueForm(AudienceForm):
    """Issue a batch: to a segment (the bulk send's audience filters) or to a pasted list of phones or card
    numbers; the hold-out share; whether to send the message."""

    name = None
    scheduled_at = None
    template = forms.ModelChoiceField(label=_("Message template"), queryset=MessageTemplate.objects.none(),
                                      required=False, empty_label=_("The batch's template"))
    source = forms.ChoiceField(label=_("Who"), choices=[("segment", _("A segment")), ("list", _("A pasted list"))],
                               widget=forms.RadioSelect, initial="segment")
    pasted = forms.CharField(label=_("Phones or card numbers"), required=False,
                             widget=forms.Textarea(attrs={"rows": 5}),
                             help_text=_("One per line (or separated by commas)."))
    holdout_percent = forms.DecimalField(label=_("Hold-out share (%)"), min_value=Decimal("0"),
                                         max_value=Decimal("50"), decimal_places=1, initial=Decimal("10"),
                                         help_text=_("This share of the audience, drawn at random, gets nothing: "
                                                     "the results compare their sales."))
    send_message = forms.BooleanField(label=_("Send the coupon by message"), required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unknown: list[str] = []

    def clean(self):
        data = super().clean()
        if data.get("source") == "list":
            ids, self.unknown = members_from_list(data.get("pasted") or "")
            if self.unknown:
                self.add_error("pasted", _("No member has these phones or card numbers: %(list)s.") % {
                    "list": "、".join(self.unknown[:20])})
            elif not ids:
                self.add_error("pasted", _("Paste at least one phone or card number."))
            elif len(ids) > MAX_LIST:
                self.add_error("pasted", _("At most %(n)d members in a pasted list.") % {"n": MAX_LIST})
            data["member_ids"] = ids
        return data

    def audience(self) -> dict:
        if self.cleaned_data.get("source") == "list":
            return {"member_ids": self.cleaned_data.get("member_ids") or []}
        return super().audience()

    @property
    def holdout_share(self) -> Decimal:
        return (self.cleaned_data.get("holdout_percent") or Decimal("0")) / 100
