"""The form that issues a store's API key."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from membercare.org.models import Store


class ApiKeyForm(forms.Form):
    store = forms.ModelChoiceField(label=gettext_lazy("Store"), queryset=Store.objects.none(), empty_label=None)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("Which POS system or till uses the key, e.g. “收银机 1”."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.filter(is_active=True).order_by("code")
