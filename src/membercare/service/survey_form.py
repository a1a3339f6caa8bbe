"""The satisfaction survey's answer form: one definition for the survey link's page (web) and the member centre."""

from django import forms
from django.utils.translation import gettext_lazy as _


class SurveyAnswerForm(forms.Form):
    csat = forms.TypedChoiceField(label=_("How satisfied are you with our service?"), coerce=int,
                                  choices=[(i, str(i)) for i in range(1, 6)], widget=forms.RadioSelect)
    nps = forms.TypedChoiceField(label=_("How likely are you to recommend us to a friend?"), coerce=int,
                                 choices=[(i, str(i)) for i in range(0, 11)], widget=forms.RadioSelect)
    comment = forms.CharField(label=_("Anything you would like to tell us? (optional)"), required=False,
                              max_length=1000, widget=forms.Textarea(attrs={"rows": 4}))
