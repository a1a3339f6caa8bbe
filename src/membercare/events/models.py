"""VIP events (salons, new-collection shows, exclusive sales with an extra discount 折上折) and referrals.

- Event: what, where (stores, or every store of a brand), when, capacity, points for attending; an exclusive
  sale also has an extra discount (a share, applied on top of the tier price) and a sale period.
- Invitation: one per (event, member) of the invited audience, with its unguessable RSVP token; members of the
  hold-out group have a row too (held_out=True) but get no message.
- Attendance: one per (event, member) — checking in twice is one attendance, and the points go with the row.
- EventReceipt: a receipt that received an exclusive sale's extra discount (the sale's attribution).
- ReferralCode / Referral: a member's code, and who brought whom (rewarded once, on the first purchase).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    class Kind(models.TextChoices):
        SALON = "salon", _("VIP salon")
        SHOW = "show", _("New-collection show")
        EXCLUSIVE_SALE = "exclusive_sale", _("Exclusive sale (extra discount)")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=100)
    details = models.TextField(_("details"), blank=True, default="")
    brand = models.ForeignKey("org.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("brand"))  # every store of the brand, when no store is chosen
    stores = models.ManyToManyField("org.Store", blank=True, related_name="+", verbose_name=_("stores"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)  # guests; None: no limit
    attendance_points = models.PositiveIntegerField(_("points for attending"), default=0)
    extra_discount = models.DecimalField(_("extra discount"), max_digits=4, decimal_places=3, default=0)
    sale_starts_on = models.DateField(_("sale from"), null=True, blank=True)
    sale_ends_on = models.DateField(_("sale until"), null=True, blank=True)
    holdout_share = models.DecimalField(_("hold-out share"), max_digits=4, decimal_places=3, default=0)
    holdout_seed = models.BigIntegerField(default=0)
    invited_at = models.DateTimeField(_("invited at"), null=True, blank=True)
    cancelled = models.BooleanField(_("cancelled"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("VIP event")
        verbose_name_plural = _("VIP events")
        ordering = ["-starts_at", "-pk"]
        indexes = [models.Index(fields=["sale_starts_on"], condition=models.Q(kind="exclusive_sale"),
                                name="event_exclusive_sales")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_exclusive_sale(self) -> bool:
        return self.kind == self.Kind.EXCLUSIVE_SALE


class Invitation(models.Model):
    class Rsvp(models.TextChoices):
        NONE = "", _("No answer yet")
        YES = "yes", _("Coming")
        NO = "no", _("Not coming")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="event_invitations")
    token = models.CharField(max_length=43, unique=True)
    held_out = models.BooleanField(_("hold-out group"), default=False)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", db_index=False)
    skip_reason = models.CharField(_("reason not sent"), max_length=20, blank=True, default="")
    invited_at = models.DateTimeField(_("invited at"))
    rsvp = models.CharField(_("answer"), max_length=3, choices=Rsvp.choices, blank=True, default="")
    party_size = models.PositiveSmallIntegerField(_("party size"), default=0)
    responded_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [models.UniqueConstraint(fields=["event", "member"], name="invitation_once_per_member")]
        indexes = [models.Index(fields=["member"], name="invitation_member")]


class Attendance(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attendances")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="event_attendances")
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    store = models.ForeignKey("org.Store", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("store"))
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("checked in by"))
    points = models.PositiveIntegerField(_("points"), default=0)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [models.UniqueConstraint(fields=["event", "member"], name="attendance_once_per_member")]
        indexes = [models.Index(fields=["member"], name="attendance_member")]


class EventReceipt(models.Model):
    """A receipt that received an exclusive sale's extra discount."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="receipts")
    receipt = models.OneToOneField("sales.Receipt", on_delete=models.CASCADE, related_name="+")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    discount = models.DecimalField(_("extra discount"), max_digits=4, decimal_places=3)

    class Meta:
        verbose_name = _("exclusive-sale receipt")
        verbose_name_plural = _("exclusive-sale receipts")


class ReferralCode(models.Model):
    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, related_name="referral_code",
                                  primary_key=True)
    code = models.CharField(_("referral code"), max_length=12, unique=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")


class Referral(models.Model):
    """`referrer` brought `referred` (each member is referred at most once). Rewarded once, on the referred
    member's first purchase: `rewarded_at` is set by the one statement that claims the reward."""

    referrer = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="referrals_made",
                                 verbose_name=_("referred by"))
    referred = models.OneToOneField("members.Member", on_delete=models.CASCADE, related_name="referral",
                                    verbose_name=_("new member"))
    code = models.CharField(_("referral code"), max_length=12)
    registered_at = models.DateTimeField(_("registered at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("recorded by"))
    rewarded_at = models.DateTimeField(_("rewarded at"), null=True, blank=True)
    first_receipt = models.ForeignKey("sales.Receipt", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("first purchase"))
    referrer_points = models.PositiveIntegerField(_("points to the referrer"), default=0)
    referred_points = models.PositiveIntegerField(_("points to the new member"), default=0)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
