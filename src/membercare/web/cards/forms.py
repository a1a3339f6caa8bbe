"""The card application form (a clerk files it from the member's profile)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from membercare.core.permissions import visible_stores
from membercare.loyalty.models import CardApplication, CardStatus
from membercare.loyalty.programme import programme_at


class CardApplicationForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Application"), choices=CardApplication.Kind.choices)
    card_kind = forms.ChoiceField(label=gettext_lazy("Card"), choices=(), required=False,
                                  help_text=gettext_lazy("A reissue keeps the old card's kind."))
    old_card_number = forms.CharField(label=gettext_lazy("Old card number"), max_length=20, required=False,
                                      help_text=gettext_lazy("Required for a lost-card reissue or an exchange."))
    store = forms.ModelChoiceField(label=gettext_lazy("Store"), queryset=None, empty_label=None)
    note = forms.CharField(label=gettext_lazy("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, user, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card_kind"].choices = programme_at().levels()  # the programme's levels, by rank
        self.fields["store"].queryset = visible_stores(user).filter(is_active=True).order_by("code")
        numbers = [c.number for c in member.cards.exclude(status=CardStatus.PENDING).order_by("-issued_at")]
        self.fields["old_card_number"].widget.attrs["list"] = "member-cards"
        self.card_numbers = numbers
