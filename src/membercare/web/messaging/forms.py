"""Messaging forms: the template editor, the bulk send (audience, schedule), the outbox filters, the message a
clerk sends from a care task, and an opt-out at the counter.

The forms only convert what people type; the rules (content rules, consent, opt-outs, quiet hours, the cap)
are checked by messaging.services and messaging.bulk, whose errors are put back next to the field.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.audiences.models import Audience
from membercare.audiences.selectors import default_exclusions, visible_audiences
from membercare.care.models import SEVEN_SEGMENTS, FollowUp, Lifecycle, SpendClass
from membercare.members.models import Tag
from membercare.messaging.models import Category, MessageChannel, MessageStatus, MessageTemplate
from membercare.org.models import Brand, Store

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=MessageChannel.choices, widget=forms.RadioSelect,
                                initial=MessageChannel.SMS)
    subject = forms.CharField(label=_("Subject (email)"), max_length=200, required=False)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 6}), required=False)
    sms_template_code = forms.CharField(label=_("SMS provider template code"), max_length=50, required=False,
                                        help_text=_("Given by the SMS provider when it approves the text."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    preview_member = forms.CharField(label=_("Preview for member"), required=False, widget=forms.TextInput(
        attrs={"placeholder": _("Member number, phone or name"), "autocomplete": "off"}))

    @classmethod
    def initial_from(cls, template: MessageTemplate) -> dict:
        return {"name": template.name, "category": template.category, "channel": template.channel,
                "subject": template.subject, "body": template.body, "sms_template_code": template.sms_template_code,
                "is_active": template.is_active}


class AudienceForm(forms.Form):
    """A bulk send: name, template, audience (every filter given must match) and when to send it."""

    name = forms.CharField(label=_("Name of the send"), max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. Mid-Autumn greetings 2026")}))
    template = forms.ModelChoiceField(label=_("Template"), queryset=MessageTemplate.objects.none(),
                                      empty_label=_("Choose a template"))
    lifecycle = forms.MultipleChoiceField(label=_("Lifecycle"), choices=Lifecycle.choices, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    spend_class = forms.MultipleChoiceField(label=_("Spend class (ABC)"), choices=SpendClass.choices,
                                            required=False, widget=forms.CheckboxSelectMultiple)
    follow_up = forms.MultipleChoiceField(label=_("Follow-up class"), choices=FollowUp.choices, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    flags = forms.MultipleChoiceField(label=_("Segments (all ticked must hold)"), choices=SEVEN_SEGMENTS,
                                      required=False, widget=forms.CheckboxSelectMultiple)
    stores = forms.ModelMultipleChoiceField(label=_("Registration stores"), queryset=Store.objects.none(),
                                            required=False, widget=forms.CheckboxSelectMultiple,
                                            help_text=_("None ticked: the whole chain."))
    tags = forms.CharField(label=_("Tags"), required=False,
                           help_text=_("Tag names separated by commas; members with any of them."))
    saved_audience = forms.ModelChoiceField(label=_("Saved audience"), queryset=Audience.objects.none(),
                                            required=False, empty_label=_("None (the filters above only)"),
                                            help_text=_("Its members are resolved and frozen when the send or "
                                                        "the coupon issue is made."))
    include_segments = forms.MultipleChoiceField(
        label=_("Include anyway"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Promotions and coupons leave these segments out of a saved audience by default (seed 004): "
                    "tick to include them explicitly."))
    scheduled_at = forms.DateTimeField(label=_("Send at"), input_formats=[DATETIME_FORMAT],
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                  format=DATETIME_FORMAT))
    holdout_pct = forms.DecimalField(label=_("Hold-out group (%)"), required=False, min_value=0, max_value=50,
                                     max_digits=4, decimal_places=1, initial=0,
                                     help_text=_("This share of the audience, picked at random, gets nothing: "
                                                 "their purchases show what the send added."))
    seed = forms.IntegerField(required=False, widget=forms.HiddenInput)  # the hold-out's draw (reproducible)
    # a brand code: the members of the prediction page's list "high value, probability fallen" at that brand,
    # re-derived here for the user (prediction.selectors.at_risk_member_ids), never taken from posted ids
    at_risk = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.at_risk_brand = None
        self.at_risk_ids: list[int] | None = None
        self.fields["template"].queryset = MessageTemplate.objects.filter(is_active=True).order_by("category",
                                                                                                   "name")
        self.fields["stores"].queryset = Store.objects.filter(is_active=True).order_by("code")
        self.fields["saved_audience"].queryset = (visible_audiences(user) if user is not None
                                                  else Audience.objects.none()).order_by("name")
        self.fields["include_segments"].choices = default_exclusions("promotion")
        if not self.is_bound and "scheduled_at" not in self.initial:
            self.initial["scheduled_at"] = timezone.localtime().replace(second=0, microsecond=0)

    def clean_tags(self) -> list[int]:
        names = [n.strip() for n in re.split(r"[,，、\s]+", self.cleaned_data.get("tags") or "") if n.strip()]
        if not names:
            return []
        found = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
        unknown = [n for n in names if n not in found]
        if unknown:
            raise forms.ValidationError(_("Unknown tags: %(names)s.") % {"names": "、".join(unknown)})
        return sorted(set(found.values()))

    def clean_at_risk(self) -> str:
        code = (self.cleaned_data.get("at_risk") or "").strip()
        if not code:
            return ""
        from membercare.prediction.selectors import at_risk_member_ids, can_see_at_risk

        brand = Brand.objects.filter(code=code).first()
        if brand is None or self.user is None or not can_see_at_risk(self.user):
            raise forms.ValidationError(_("This list of members is not available to you."))
        self.at_risk_brand = brand
        self.at_risk_ids = at_risk_member_ids(brand, self.user)
        if not self.at_risk_ids:
            raise forms.ValidationError(_("The list of high-value members whose probability of being active "
                                          "has fallen is empty for %(brand)s.") % {"brand": brand.name})
        return code

    def at_risk_source(self) -> dict | None:
        """The prediction list the audience comes from, for the page's notice: {"brand", "count"}, or None."""
        code = self["at_risk"].value()
        if not code:
            return None
        if self.at_risk_ids is not None:
            return {"brand": self.at_risk_brand, "count": len(self.at_risk_ids)}
        from membercare.prediction.selectors import at_risk_member_ids, can_see_at_risk

        brand = Brand.objects.filter(code=code).first()  # not bound yet (the first GET): count it for the notice
        ok = brand is not None and self.user is not None and can_see_at_risk(self.user)
        return {"brand": brand, "count": len(at_risk_member_ids(brand, self.user)) if ok else 0}

    def audience(self) -> dict:
        """The audience as messaging.bulk.audience_queryset() reads it (call after is_valid())."""
        data = self.cleaned_data
        out: dict = {}
        if self.at_risk_ids:
            out["member_ids"] = list(self.at_risk_ids)
        for key in ("lifecycle", "spend_class", "follow_up", "flags"):
            if data.get(key):
                out[key] = list(data[key])
        if data.get("stores"):
            out["store_ids"] = sorted(s.pk for s in data["stores"])
        if data.get("tags"):
            out["tag_ids"] = data["tags"]
        if data.get("saved_audience"):
            out["saved_audience"] = data["saved_audience"].pk
            out["include_segments"] = sorted(data.get("include_segments") or [])
        return out


class OutboxFilterForm(forms.Form):
    q = forms.CharField(label=_("Member name or number, phone, or text"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *MessageStatus.choices])
    channel = forms.ChoiceField(label=_("Channel"), required=False,
                                choices=[("", _("Any channel")), *MessageChannel.choices])
    category = forms.ChoiceField(label=_("Category"), required=False,
                                 choices=[("", _("Any category")), *Category.choices])
    since = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = forms.DateField(label=_("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    bulk = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CostPeriodForm(forms.Form):
    cost_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    cost_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def period(self, default: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
        start = (self.cleaned_data.get("cost_from") if self.is_valid() else None) or default[0]
        end = (self.cleaned_data.get("cost_to") if self.is_valid() else None) or default[1]
        return (end, start) if end < start else (start, end)


MESSAGE_CHANNELS = [(MessageChannel.SMS.value, MessageChannel.SMS.label),
                    (MessageChannel.WECHAT.value, MessageChannel.WECHAT.label),
                    (MessageChannel.EMAIL.value, MessageChannel.EMAIL.label)]


class TaskMessageForm(forms.Form):
    """The message a clerk sends to complete a care task: the template rendered for the member, editable."""

    channel = forms.ChoiceField(label=_("Send by"), choices=MESSAGE_CHANNELS, widget=forms.RadioSelect)
    subject = forms.CharField(label=_("Subject (email)"), max_length=200, required=False)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 4}),
                           error_messages={"required": _("The text is required.")})


class OptOutForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=MESSAGE_CHANNELS)
