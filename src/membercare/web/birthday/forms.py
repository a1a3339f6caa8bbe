"""Birthday forms: a clerk's request for the privilege outside the birthday month; the audit's filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from membercare.core.permissions import visible_stores
from membercare.loyalty.birthday_exceptions import MAX_WINDOW_DAYS, candidate_periods
from membercare.org.models import Store


class ExceptionRequestForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Birthday month it stands for"))
    valid_from = forms.DateField(label=gettext_lazy("First day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    valid_to = forms.DateField(label=gettext_lazy("Last day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    store = forms.ModelChoiceField(label=gettext_lazy("Store"), queryset=None, empty_label=None)
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=gettext_lazy("E.g. the member was abroad during the whole birthday month."))

    def __init__(self, *args, user, member, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [(p, p) for p in candidate_periods(member)]
        self.fields["store"].queryset = visible_stores(user).filter(is_active=True).order_by("code")
        self.fields["valid_to"].help_text = _("At most %(n)d days.") % {"n": MAX_WINDOW_DAYS}


class AuditFilterForm(forms.Form):
    since = forms.DateField(label=gettext_lazy("From"), required=False,

        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = forms.DateField(label=gettext_lazy("To"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    store = forms.ModelChoiceField(label=gettext_lazy("Store"), required=False,
                                   queryset=Store.objects.order_by("code"), empty_label=gettext_lazy("All stores"))
    flagged = forms.BooleanField(label=gettext_lazy("Flagged only"), required=False)
