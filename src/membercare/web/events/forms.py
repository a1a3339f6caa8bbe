"""VIP event forms: the event, the invitation (audience as for bulk sends, plus a hold-out share), the member's
RSVP, a referral code on the profile. They only convert input; the rules live in events.services."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from membercare.core.permissions import visible_stores
from membercare.events.models import Event
from membercare.events.services import MAX_PARTY, EventData, can_run_chain_events
from membercare.messaging.models import Category, MessageTemplate
from membercare.org.models import Brand

from ..messaging.forms import DATETIME_FORMAT, AudienceForm

_DT = {"input_formats": [DATETIME_FORMAT],
       "widget": forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT)}
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class EventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Event.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=100)
    details = forms.CharField(label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    stores = forms.ModelMultipleChoiceField(label=_("Stores"), queryset=None, required=False,
                                            widget=forms.CheckboxSelectMultiple)
    brand = forms.ModelChoiceField(label=_("Or every store of a brand"), queryset=Brand.objects.order_by("code"),
                                   required=False, empty_label="—")
    starts_at = forms.DateTimeField(label=_("Starts at"), **_DT)
    ends_at = forms.DateTimeField(label=_("Ends at"), **_DT)
    capacity = forms.IntegerField(label=_("Capacity (guests)"), required=False, min_value=1,
                                  help_text=_("Empty: no limit."))
    attendance_points = forms.IntegerField(label=_("Points for attending"), required=False, min_value=0, initial=0)
    extra_discount_pct = forms.DecimalField(label=_("Extra discount (%)"), required=False, max_digits=5,
                                            decimal_places=1,
                                            help_text=_("Exclusive sales: off the tier price, on full-price items."))
    sale_starts_on = forms.DateField(label=_("Sale from"), required=False, widget=_DATE)
    sale_ends_on = forms.DateField(label=_("Sale until"), required=False, widget=_DATE)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = visible_stores(user).filter(is_active=True).order_by("code")
        if not can_run_chain_events(user):
            del self.fields["brand"]

    @classmethod
    def initial_from(cls, event: Event) -> dict:
        return {"kind": event.kind, "title": event.title, "details": event.details,
                "stores": list(event.stores.all()), "brand": event.brand, "starts_at": event.starts_at,
                "ends_at": event.ends_at, "capacity": event.capacity, "attendance_points": event.attendance_points,
                "extra_discount_pct": (event.extra_discount * 100).normalize() if event.extra_discount else None,
                "sale_starts_on": event.sale_starts_on, "sale_ends_on": event.sale_ends_on}

    def data_for_service(self) -> EventData:
        d = self.cleaned_data
        return EventData(kind=d["kind"], title=d["title"], details=d.get("details") or "",
                         starts_at=d["starts_at"], ends_at=d["ends_at"], stores=list(d.get("stores") or []),
                         brand=d.get("brand"), capacity=d.get("capacity"),
                         attendance_points=d.get("attendance_points") or 0,
                         extra_discount_pct=d.get("extra_discount_pct"), sale_starts_on=d.get("sale_starts_on"),
                         sale_ends_on=d.get("sale_ends_on"))


class InviteForm(AudienceForm):
    """The audience (the bulk send's filters), the invitation template and the hold-out share."""

    holdout_pct = forms.DecimalField(label=_("Hold-out group (%)"), required=False, min_value=0, max_value=50,
                                     max_digits=4, decimal_places=1, initial=0,
                                     help_text=_("This share of the audience, picked at random, gets no "
                                                 "invitation: their purchases show what the event added."))
    seed = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["name"]
        del self.fields["scheduled_at"]
        del self.fields["include_segments"]  # an invitation is not a promotion: no default exclusions
        self.fields["saved_audience"].empty_label = _("None (the filters below only)")
        self.fields["saved_audience"].help_text = _("Its members as they are when you send the invitations; "
                                                    "the filters ticked below must match as well.")
        templates = MessageTemplate.objects.filter(is_active=True, category=Category.EVENT).order_by("name", "pk")
        self.fields["template"].queryset = templates
        if not self.is_bound and "template" not in self.initial:
            only = list(templates[:2])
            if len(only) == 1:  # the one suitable template is chosen already, so the first preview works
                self.initial["template"] = only[0].pk

    def holdout_share(self) -> Decimal:
        return ((self.cleaned_data.get("holdout_pct") or Decimal("0")) / 100).quantize(Decimal("0.001"))


class RsvpForm(forms.Form):
    answer = forms.ChoiceField(label=_("Will you come?"), widget=forms.RadioSelect,
                               choices=[("yes", _("Yes, I will come")), ("no", _("Sorry, I cannot come"))])
    party_size = forms.IntegerField(label=_("How many people, yourself included?"), required=False, min_value=1,
                                    max_value=MAX_PARTY, initial=1,
                                    widget=forms.NumberInput(attrs={"inputmode": "numeric"}))


class ReferralCodeForm(forms.Form):
    referral_code = forms.CharField(label=_("Referred by (their referral code)"), max_length=20)
