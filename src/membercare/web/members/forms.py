"""Members forms: the member archive form (registration and edit) and the import upload form."""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from membercare.members.models import Channel, ContactTime, DecisionStyle, Gender, Member, MemberDate, SkinTone
from membercare.members.validation import clean_member_data

_BLANK = [("", "—")]


class MemberForm(forms.Form):
    """The archive form. Field rules live in members.validation, shared with imports and the API."""

    name = forms.CharField(label=pgettext_lazy("person", "Name"), max_length=50)
    phone = forms.CharField(label=_("Mobile phone"), max_length=30,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, widget=forms.RadioSelect)
    birthday = forms.CharField(label=_("Birthday (solar)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    lunar_birthday_month = forms.CharField(label=_("Lunar birthday: month"), required=False,
                                           widget=forms.NumberInput(attrs={"min": 1, "max": 12}))
    lunar_birthday_day = forms.CharField(label=_("Lunar birthday: day"), required=False,
                                         widget=forms.NumberInput(attrs={"min": 1, "max": 30}))
    lunar_birthday_leap = forms.BooleanField(label=_("Leap month"), required=False)
    celebrates_lunar = forms.BooleanField(label=_("Celebrates the lunar birthday"), required=False)
    preferred_channel = forms.ChoiceField(label=_("Preferred channel"), choices=Channel.choices)
    preferred_time = forms.ChoiceField(label=_("Preferred contact time"), choices=ContactTime.choices)
    consent_phone = forms.BooleanField(label=_("Marketing calls"), required=False)
    consent_sms = forms.BooleanField(label=_("Marketing SMS"), required=False)
    consent_email = forms.BooleanField(label=_("Marketing email"), required=False)
    consent_wechat = forms.BooleanField(label=_("Marketing WeChat"), required=False)
    email = forms.CharField(label=_("Email"), required=False)
    wechat_id = forms.CharField(label=_("WeChat ID"), required=False)
    address = forms.CharField(label=_("Address"), required=False)
    id_number = forms.CharField(label=_("ID number"), required=False,
                                help_text=_("Sensitive: stored encrypted, shown masked."))
    occupation = forms.CharField(label=_("Occupation"), required=False)
    height_cm = forms.CharField(label=_("Height (cm)"), required=False, widget=forms.NumberInput)
    weight_kg = forms.CharField(label=_("Weight (kg)"), required=False, widget=forms.NumberInput)
    skin_tone = forms.ChoiceField(label=_("Skin tone"), choices=_BLANK + SkinTone.choices, required=False)
    clothing_size = forms.CharField(label=_("Clothing size"), required=False)
    shoe_size = forms.CharField(label=_("Shoe size"), required=False)
    first_purchase_style = forms.CharField(label=_("Style of first purchase"), required=False)
    personality = forms.CharField(label=_("Personality"), required=False)
    decision_style = forms.ChoiceField(label=_("Decision style"), choices=_BLANK + DecisionStyle.choices,
                                       required=False)
    shopping_time = forms.CharField(label=_("Habitual shopping time"), required=False)
    shopping_places = forms.CharField(label=_("Habitual shopping places"), required=False)
    other_brands = forms.CharField(label=_("Other brands bought"), required=False)
    tags = forms.CharField(label=_("Tags"), required=False,
                           help_text=_("Separate with commas, e.g. likes tea, born in the 60s, owns a car"))
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    referral_code = forms.CharField(label=_("Referral code"), required=False, max_length=20,
                                    help_text=_("The code of the member who brought them (optional)."))

    SECTIONS = (
        (_("Required"), ("name", "phone", "gender", "birthday")),
        (_("Referral"), ("referral_code",)),
        (_("Contact and consent"), ("preferred_channel", "preferred_time", "consent_phone", "consent_sms",
                                    "consent_email", "consent_wechat", "email", "wechat_id", "address")),
        (_("Lunar birthday"), ("lunar_birthday_month", "lunar_birthday_day", "lunar_birthday_leap",
                               "celebrates_lunar")),
        (_("Profile"), ("occupation", "height_cm", "weight_kg", "skin_tone", "clothing_size", "shoe_size",
                        "first_purchase_style", "personality", "decision_style", "shopping_time",
                        "shopping_places", "other_brands", "id_number", "tags", "notes")),
    )

    def __init__(self, *args, instance: Member | None = None, **kwargs):
        self.instance = instance
        self.duplicate_of: int | None = None
        super().__init__(*args, **kwargs)
        if instance is not None:
            del self.fields["referral_code"]  # given at registration (or on the profile's referral panel)
        if instance is not None and instance.id_number:
            self.fields["id_number"].help_text = _("Leave empty to keep the stored number (%(masked)s).") % {
                "masked": instance.masked_id_number or "—"}

    def sections(self):
        return [(title, [self[name] for name in names if name in self.fields]) for title, names in self.SECTIONS
                if any(name in self.fields for name in names)]

    def clean(self):
        data = dict(self.cleaned_data)
        if self.instance is not None and not data.get("id_number"):
            data.pop("id_number", None)  # the masked value is never round-tripped through the form
        try:
            self.cleaned_member = clean_member_data(data, instance=self.instance)
        except ValidationError as exc:
            self.duplicate_of = getattr(exc, "duplicate_of", None)
            for field, messages in exc.message_dict.items():
                for message in messages:
                    if field == "phone" and self.duplicate_of:
                        url = reverse("member_detail", args=[self.duplicate_of])
                        message = format_html('{} <a href="{}">{}</a>', message, url, _("Open that member"))
                    target = field if field in self.fields else None
                    if target and target in self.errors:
                        continue  # the form field already said it (e.g. "required"): say it once
                    self.add_error(target, message)
        return self.cleaned_data

    @classmethod
    def initial_from(cls, member: Member) -> dict:
        initial = {name: getattr(member, name) for name in cls.base_fields if hasattr(member, name)}
        initial["id_number"] = ""
        initial["birthday"] = member.birthday.isoformat()
        initial["tags"] = ", ".join(t.name for t in member.tags.all())
        return initial


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx or .csv)"))
    default_store = forms.ModelChoiceField(label=_("Store for rows without a store code"), queryset=None)

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_store"].queryset = stores


class MemberDateForm(forms.Form):
    """A date the member gives (members.services.member_date_add checks it)."""

    name = forms.CharField(label=_("Occasion"), max_length=30,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. wedding anniversary")}))
    calendar = forms.ChoiceField(label=_("Calendar"), choices=MemberDate.Calendar.choices,
                                 initial=MemberDate.Calendar.SOLAR)
    month = forms.IntegerField(label=_("Month"), min_value=1, max_value=12)
    day = forms.IntegerField(label=_("Day"), min_value=1, max_value=31)
    leap = forms.BooleanField(label=_("Leap month (lunar)"), required=False)
