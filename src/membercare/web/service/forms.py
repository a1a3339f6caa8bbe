"""Service forms: opening a complaint, the step form, gifts (issue, stock, catalogue), the public survey.

The forms only convert what people type; the rules are checked by membercare.service, whose errors are put
back next to the field they concern (web.forms.add_service_errors)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from membercare.loyalty.models import PointsEntry
from membercare.members.models import Member
from membercare.members.selectors import member_search
from membercare.org.models import Staff, Store
from membercare.service.models import ComplaintCategory, ComplaintState, Gift, GiftReason, ServiceKind, Severity
from membercare.service.survey_form import SurveyAnswerForm  # noqa: F401  (the survey page's form)

from ..forms import StaffChoiceField

TEXTAREA = {"rows": 3}


class MemberPickMixin:
    """A member given by id (from the profile) or typed at the counter (phone, card or member number, name)."""

    def clean_member_pick(self) -> Member | None:
        data = self.cleaned_data
        member_id = data.get("member")
        if member_id:
            member = Member.objects.select_related("home_store").filter(pk=member_id).first()
            if member is None:
                self.add_error("member_query", _("This member does not exist."))
            return member
        query = (data.get("member_query") or "").strip()
        if not query:
            self.add_error("member_query", _("Find the member: phone, card number, member number or name."))
            return None
        found = member_search(query)
        if not found.members:
            self.add_error("member_query", _("No member found."))
            return None
        if len(found.members) > 1:
            self.add_error("member_query", _("Several members match: choose one from the list or type more."))
            return None
        return found.members[0]


class ComplaintOpenForm(MemberPickMixin, forms.Form):
    member = forms.IntegerField(required=False, widget=forms.HiddenInput)
    member_query = forms.CharField(label=_("Member"), required=False, widget=forms.TextInput(attrs={
        "placeholder": _("Phone, card number, member number or name"), "autocomplete": "off"}))
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    category = forms.ChoiceField(label=_("About"), choices=ComplaintCategory.choices, widget=forms.RadioSelect)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, widget=forms.RadioSelect,
                                 initial=Severity.MEDIUM)
    sku = forms.CharField(label=_("Product or SKU (optional)"), required=False, max_length=60)
    description = forms.CharField(label=_("What the member said"), widget=forms.Textarea(attrs=TEXTAREA))

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores

    def clean(self):
        data = super().clean()
        data["member_obj"] = self.clean_member_pick()
        return data


class StepForm(forms.Form):
    """The form of a complaint's current step: a note always, plus what the step needs."""

    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs=TEXTAREA))
    remedy = forms.CharField(label=_("Remedy agreed with the member"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    gift = forms.ModelChoiceField(label=_("Gift given (optional)"), queryset=Gift.objects.none(), required=False,
                                  empty_label=_("No gift"))
    satisfied = forms.TypedChoiceField(label=_("Is the member satisfied?"), required=False,
                                       choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect,
                                       coerce=lambda v: v == "yes", empty_value=None)
    settlement = forms.CharField(label=_("If not: what was settled on the spot"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))

    STEP_FIELDS = {ComplaintState.HANDLE: ["remedy"], ComplaintState.COMPENSATE: ["gift"],
                   ComplaintState.RESULT: ["satisfied", "settlement"]}

    def __init__(self, *args, step: str, gifts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = step
        keep = {"note", *self.STEP_FIELDS.get(step, [])}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "gift" in self.fields:
            self.fields["gift"].queryset = gifts if gifts is not None else Gift.objects.none()
        if "remedy" in self.fields:
            self.fields["remedy"].required = True


class AssignForm(forms.Form):
    owner = StaffChoiceField(label=_("Owner"), queryset=Staff.objects.none(), empty_label=None)

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = colleagues


class GiftIssueForm(MemberPickMixin, forms.Form):
    member = forms.IntegerField(required=False, widget=forms.HiddenInput)
    member_query = forms.CharField(label=_("Member"), required=False, widget=forms.TextInput(attrs={
        "placeholder": _("Phone, card number, member number or name"), "autocomplete": "off"}))
    gift = forms.ModelChoiceField(label=_("Gift"), queryset=Gift.objects.none(), empty_label=_("Choose a gift"))
    reason = forms.ChoiceField(label=_("Why"), widget=forms.RadioSelect,
                               choices=[c for c in GiftReason.choices if c[0] != GiftReason.COMPENSATION])
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, gifts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gift"].queryset = gifts

    def clean(self):
        data = super().clean()
        data["member_obj"] = self.clean_member_pick()
        return data


class StockReceiveForm(forms.Form):
    gift = forms.ModelChoiceField(label=_("Gift"), queryset=Gift.objects.none(), empty_label=_("Choose a gift"))
    quantity = forms.IntegerField(label=_("Quantity received"), min_value=1)
    reason = forms.CharField(label=_("Note (delivery, supplier)"), required=False, max_length=200)

    def __init__(self, *args, gifts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gift"].queryset = gifts


class StockAdjustForm(forms.Form):
    gift = forms.ModelChoiceField(label=_("Gift"), queryset=Gift.objects.none(), empty_label=_("Choose a gift"))
    change = forms.IntegerField(label=_("Change (+ or -)"))
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def __init__(self, *args, gifts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gift"].queryset = gifts


class StockThresholdForm(forms.Form):
    gift = forms.ModelChoiceField(label=_("Gift"), queryset=Gift.objects.none(), empty_label=_("Choose a gift"))
    low_threshold = forms.IntegerField(label=_("Low-stock threshold"), min_value=0)

    def __init__(self, *args, gifts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gift"].queryset = gifts


class GiftForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=100)
    value = forms.DecimalField(label=_("Value (yuan)"), max_digits=10, decimal_places=2, min_value=0, initial=0)
    points_cost = forms.IntegerField(label=_("Points to redeem (optional)"), required=False, min_value=1)





class ServiceOrderForm(MemberPickMixin, forms.Form):
    """Taking in an alteration or repair: the service (membercare.service.aftersales) checks the rules."""

    member = forms.IntegerField(required=False, widget=forms.HiddenInput)
    member_query = forms.CharField(label=_("Member"), required=False, widget=forms.TextInput(attrs={
        "placeholder": _("Phone, card number, member number or name"), "autocomplete": "off"}))
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), empty_label=None)
    kind = forms.ChoiceField(label=_("Kind"), choices=ServiceKind.choices, widget=forms.RadioSelect,
                             initial=ServiceKind.ALTERATION)
    receipt_line = forms.TypedChoiceField(label=_("The purchase"), required=False, coerce=int, empty_value=None)
    item = forms.CharField(label=_("Item (when not in the purchases)"), required=False, max_length=100)
    work = forms.CharField(label=_("Work to do"), max_length=1000, widget=forms.Textarea(attrs=TEXTAREA))
    promised_on = forms.DateField(label=_("Promised date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    charged = forms.TypedChoiceField(label=_("Charge"), choices=[("free", _("Free")), ("charged", _("Charged"))],
                                     widget=forms.RadioSelect, coerce=lambda v: v == "charged", initial="free")
    amount = forms.DecimalField(label=_("Amount (yuan)"), required=False, max_digits=10, decimal_places=2)
    use_perk = forms.BooleanField(label=_("A free alteration from the member's perks"), required=False,
                                  help_text=_("Counted against the card's quota of free alterations."))

    def __init__(self, *args, stores, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.fields["receipt_line"].choices = [("", _("Not in the purchases: describe the item"))] + [
            (line.pk, f"{line.receipt.sold_at:%Y-%m-%d} · {line.product.name} · {line.product.sku}")
            for line in lines]

    # the service checks these too; here they are reported with the other fields' errors at once
    def clean_promised_on(self):
        value = self.cleaned_data["promised_on"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("The promised date cannot be in the past."), code="promised_past")
        return value

    def clean_amount(self):
        value = self.cleaned_data["amount"]
        if value is not None and value < 0:
            raise forms.ValidationError(_("The amount cannot be negative."), code="amount_negative")
        return value

    def clean(self):
        data = super().clean()
        data["member_obj"] = self.clean_member_pick()
        return data


class CancelOrderForm(forms.Form):
    reason = forms.CharField(label=_("Reason for cancelling"), max_length=200)


class MallRedeemForm(MemberPickMixin, forms.Form):
    """The counter: an item of the points mall for a member (points taken from the balance)."""

    member = forms.IntegerField(required=False, widget=forms.HiddenInput)
    member_query = forms.CharField(label=_("Member"), required=False, max_length=50, widget=forms.TextInput(attrs={
        "placeholder": _("Phone, card number, member number or name"), "autocomplete": "off"}))
    item = forms.ModelChoiceField(label=_("Points mall item"), queryset=None, empty_label=_("Choose an item"))

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = items
        self.fields["item"].label_from_instance = lambda i: _("%(name)s · %(points)s points") % {
            "name": i.name, "points": i.points}

    def clean(self):
        data = super().clean()
        data["member_obj"] = self.clean_member_pick()
        return data


class MallPickupForm(forms.Form):
    code = forms.CharField(label=_("Pickup code"), max_length=20, widget=forms.TextInput(attrs={
        "autocomplete": "off", "placeholder": "XXXX-XXXX-XXXX"}))


class MallItemForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("gift", _("Gift")), ("coupon", _("Coupon"))])
    name = forms.CharField(label=_("Name"), max_length=60)
    points = forms.IntegerField(label=_("Points"), min_value=1, max_value=1_000_000)
    gift = forms.ModelChoiceField(label=_("Gift"), queryset=Gift.objects.filter(is_active=True), required=False,
                                  empty_label=_("Choose a gift"))
    batch = forms.ModelChoiceField(label=_("Coupon batch"), queryset=None, required=False,
                                   empty_label=_("Choose the coupon batch"))
    coupon_stock = forms.IntegerField(label=_("Coupons left (empty: no limit)"), min_value=0, max_value=1_000_000,
                                      required=False)

    def __init__(self, *args, batches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = batches


class PointsAdjustForm(forms.Form):
    """HQ's manual adjustment of a member's points: a category and a reason, both kept in the ledger."""

    points = forms.IntegerField(label=_("Points (+ to add, - to take)"), min_value=-1_000_000, max_value=1_000_000)
    category = forms.ChoiceField(label=_("Category"), choices=[
        (c.value, c.label) for c in (PointsEntry.Source.CORRECTION, PointsEntry.Source.COMPENSATION,
                                     PointsEntry.Source.GOODWILL, PointsEntry.Source.OTHER)])
    reason = forms.CharField(label=_("Reason"), max_length=150)
