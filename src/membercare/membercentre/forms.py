from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from membercare.members.models import Gender, Member
from membercare.service.complaints import MAX_NOTE
from membercare.service.models import ComplaintCategory


class _Form(forms.Form):
    label_suffix = ""  # the labels stand above the inputs on a phone


class PhoneForm(_Form):
    phone = forms.CharField(label=_("Mobile phone"), max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))


class CodeForm(_Form):
    code = forms.CharField(label=_("Verification code"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                                         "pattern": "[0-9]*"}))


class JoinForm(_Form):
    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))
    birthday = forms.DateField(label=_("Birthday (solar)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, widget=forms.RadioSelect)
    consent_sms = forms.BooleanField(label=_("New arrivals and offers by SMS"), required=False)
    consent_phone = forms.BooleanField(label=_("Calls from my clerk"), required=False)
    consent_wechat = forms.BooleanField(label=_("Messages on WeChat"), required=False)
    consent_email = forms.BooleanField(label=_("Email"), required=False)
    privacy = forms.BooleanField(label=_("I have read the privacy notice and agree that my details are kept for "
                                         "membership services"), required=True)


class PreferencesForm(forms.ModelForm):
    label_suffix = ""

    class Meta:
        model = Member
        fields = ["preferred_channel", "preferred_time", "clothing_size", "shoe_size", "consent_sms",
                  "consent_phone", "consent_wechat", "consent_email"]
        labels = {"consent_sms": _("New arrivals and offers by SMS"), "consent_phone": _("Calls from my clerk"),
                  "consent_wechat": _("Messages on WeChat"), "consent_email": _("Email")}


class FeedbackForm(_Form):
    category = forms.ChoiceField(label=_("What is it about?"), choices=ComplaintCategory.choices)
    description = forms.CharField(label=_("Tell us what happened"), max_length=MAX_NOTE,
                                  widget=forms.Textarea(attrs={"rows": 5}))
