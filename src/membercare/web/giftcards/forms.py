"""Forms of the gift-card pages: bounded inputs; the rules (face value, validity, scope) are checked by
storedvalue.giftcard_batches and giftcard_spend, whose refusals are put next to their field."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from membercare.org.models import Brand
from membercare.storedvalue.giftcard_spend import MAX_VOID_REASON
from membercare.storedvalue.giftcards import MAX_CARDS_PER_BATCH, MAX_CARDS_PER_SALE


def scope_choices() -> list[tuple[str, str]]:
    return [("", _("The whole chain")), *((b.code, b.name) for b in Brand.objects.order_by("code"))]


class BatchForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    face_value = forms.DecimalField(label=_("Face value (¥)"), min_value=0.01, max_digits=12, decimal_places=2)
    count = forms.IntegerField(label=_("Number of cards"), min_value=1, max_value=MAX_CARDS_PER_BATCH)
    valid_days = forms.IntegerField(label=_("Valid days from activation"), min_value=1, max_value=36500)
    scope = forms.ChoiceField(label=_("Sold and spent at"), required=False)

    def __init__(self, *args, max_face=None, min_days=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = scope_choices()
        self.fields["face_value"].help_text = _("At most ¥%(n)s (the rules for anonymous cards).") % {"n": max_face}
        self.fields["valid_days"].help_text = _("At least %(n)d days (the rules for anonymous cards).") % {
            "n": min_days}
        self.fields["count"].help_text = _("At most %(n)d cards in one batch.") % {"n": MAX_CARDS_PER_BATCH}


class SellForm(forms.Form):
    codes = forms.CharField(label=_("Gift card codes"), max_length=MAX_CARDS_PER_SALE * 24,
                            widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
                            help_text=_("One code a line (dashes and case do not matter), at most %(n)d cards.") % {
                                "n": MAX_CARDS_PER_SALE})
    method = forms.ChoiceField(label=_("Paid with"))
    store = forms.ChoiceField(label=_("Store"))
    buyer_name = forms.CharField(label=_("Buyer's name"), max_length=50, required=False)
    buyer_id_number = forms.CharField(label=_("Buyer's ID number"), max_length=30, required=False,
                                      help_text=_("Needed for a large purchase (real-name registration)."))
    token = forms.CharField(widget=forms.HiddenInput, max_length=60, required=False)

    def __init__(self, *args, stores=(), methods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [(str(s.pk), s.name) for s in stores]
        self.fields["method"].choices = [(m.code, m.name) for m in methods]

    def code_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["codes"].splitlines() if line.strip()]


class TransferForm(forms.Form):
    member_no = forms.CharField(label=_("Member number of the new holder"), max_length=20)


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=MAX_VOID_REASON,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("For example: lost or stolen before it was sold."))
    confirm = forms.BooleanField(label=_("I confirm: a void card can never be sold or spent, and the void cannot be "
                                         "undone."))
