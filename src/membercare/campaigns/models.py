"""Models of the campaigns app: coupon batches, their issues (with a hold-out group), coupons, redemptions.

A batch defines the offer (amount or percentage off, minimum spend, products or series, validity, brand,
stacking with the card discount). Each issue gives one coupon per member of an audience, except a random,
reproducible hold-out share that receives nothing and is recorded, so results can compare the two groups.
A coupon is used once: its row is claimed with a conditional UPDATE (redeemed_at IS NULL) inside the sale's
transaction, and the redemption row is unique per coupon.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CouponBatch(models.Model):
    class Kind(models.TextChoices):
        AMOUNT = "amount", _("Amount off")
        PERCENT = "percent", _("Percentage off")

    name = models.CharField(_("name"), max_length=100)
    brand = models.ForeignKey("org.Brand", on_delete=models.PROTECT, related_name="coupon_batches",
                              verbose_name=_("brand"), help_text=_("The coupon is accepted at this brand's stores."))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.AMOUNT)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2,
                                help_text=_("Yuan off, or the percentage off (e.g. 10 means 10 percent off)."))
    min_spend = models.DecimalField(_("minimum spend"), max_digits=10, decimal_places=2, default=0,
                                    help_text=_("On the items the coupon applies to, before the coupon."))
    skus = models.JSONField(_("products (SKUs)"), default=list, blank=True)
    series = models.ManyToManyField("sales.Series", blank=True, related_name="+", verbose_name=_("product series"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"))
    stacks_with_tier = models.BooleanField(
        _("stacks with the card discount"), default=False,
        help_text=_("If not, the items it applies to are priced from the full price and get no card discount."))
    template = models.ForeignKey("messaging.MessageTemplate", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("message template"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("coupon batch")
        verbose_name_plural = _("coupon batches")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class CouponIssue(models.Model):
    """One issuing of a batch to an audience (a segment or a pasted list), with its hold-out group."""

    batch = models.ForeignKey(CouponBatch, on_delete=models.CASCADE, related_name="issues")
    audience = models.JSONField(_("audience"), default=dict)  # messaging.bulk.audience_queryset() reads it
    holdout_share = models.DecimalField(_("hold-out share"), max_digits=4, decimal_places=3, default=0)
    seed = models.CharField(max_length=32)  # the hold-out draw is reproducible from it
    issued = models.PositiveIntegerField(_("coupons issued"), default=0)
    held_out = models.PositiveIntegerField(_("held out"), default=0)
    skipped = models.PositiveIntegerField(_("already in this batch"), default=0)
    bulk = models.ForeignKey("messaging.BulkSend", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("message"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("issued by"))
    issued_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("coupon issue")
        verbose_name_plural = _("coupon issues")
        ordering = ["-issued_at", "-pk"]


class Coupon(models.Model):
    batch = models.ForeignKey(CouponBatch, on_delete=models.CASCADE, related_name="coupons")
    issue = models.ForeignKey(CouponIssue, on_delete=models.CASCADE, related_name="coupons", db_index=False)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="coupons", db_index=False)
    code = models.CharField(_("code"), max_length=12, unique=True)
    issued_at = models.DateTimeField(_("issued at"))
    redeemed_at = models.DateTimeField(_("used at"), null=True, blank=True)
    expired_on = models.DateField(_("expired on"), null=True, blank=True)  # marked by the daily step

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [models.UniqueConstraint(fields=["batch", "member"], name="coupon_once_per_batch")]
        indexes = [models.Index(fields=["member", "batch"]), models.Index(fields=["issue"])]

    def __str__(self) -> str:
        return self.code


class CouponHoldout(models.Model):
    """A member of an issue's audience drawn into the hold-out group: received nothing."""

    batch = models.ForeignKey(CouponBatch, on_delete=models.CASCADE, related_name="holdouts")
    issue = models.ForeignKey(CouponIssue, on_delete=models.CASCADE, related_name="holdouts", db_index=False)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        verbose_name = _("hold-out member")
        verbose_name_plural = _("hold-out members")
        constraints = [models.UniqueConstraint(fields=["batch", "member"], name="coupon_holdout_once_per_batch")]


class CouponRedemption(models.Model):
    coupon = models.OneToOneField(Coupon, on_delete=models.PROTECT, related_name="redemption")
    receipt = models.OneToOneField("sales.Receipt", on_delete=models.PROTECT, related_name="coupon_redemption")
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    amount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2)
    redeemed_at = models.DateTimeField(_("used at"))

    class Meta:
        verbose_name = _("coupon redemption")
        verbose_name_plural = _("coupon redemptions")


# --------------------------------------------------------------------------------- the points mall


class MallItem(models.Model):
    """An item of the points mall (积分商城): a gift of the catalogue (stock per store: service.GiftStock) or a
    coupon of a batch (stock: `coupon_stock`, empty for no limit), for `points` points."""

    class Kind(models.TextChoices):
        GIFT = "gift", _("Gift")
        COUPON = "coupon", _("Coupon")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60)
    points = models.PositiveIntegerField(_("points"))
    gift = models.ForeignKey("service.Gift", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("gift"))
    batch = models.ForeignKey(CouponBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("coupon batch"))
    coupon_stock = models.PositiveIntegerField(_("coupons left"), null=True, blank=True)
    # the coupons given for points hang on one issue of the batch (created at the first redemption)
    coupon_issue = models.ForeignKey(CouponIssue, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(_("on sale"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("points mall item")
        verbose_name_plural = _("points mall items")
        ordering = ["points", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points__gt=0), name="mall_item_points_positive"),
            models.CheckConstraint(condition=models.Q(kind="gift", gift__isnull=False, batch__isnull=True)
                                   | models.Q(kind="coupon", batch__isnull=False, gift__isnull=True),
                                   name="mall_item_gift_or_coupon"),
        ]

    def __str__(self) -> str:
        return self.name


class MallRedemption(models.Model):
    """An item redeemed for points, at the counter or by the member in the member centre. A coupon goes to the
    member's coupons at once; a gift redeemed at the counter is handed over at once, one redeemed in the member
    centre is a pickup voucher (`code`) at the chosen store, whose stock was taken for it."""

    class Channel(models.TextChoices):
        COUNTER = "counter", _("At the counter")
        MEMBER_CENTRE = "member_centre", _("Member centre")

    class Status(models.TextChoices):
        DONE = "done", pgettext_lazy("points mall", "Done")
        TO_COLLECT = "to_collect", _("To collect at the store")
        COLLECTED = "collected", pgettext_lazy("points mall", "Collected")

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="mall_redemptions",
                               verbose_name=_("member"))
    item = models.ForeignKey(MallItem, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("item"))
    item_name = models.CharField(_("item"), max_length=60)
    points = models.PositiveIntegerField(_("points"))
    entry = models.OneToOneField("loyalty.PointsEntry", on_delete=models.PROTECT, related_name="mall_redemption")
    channel = models.CharField(_("channel"), max_length=15, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    store = models.ForeignKey("org.Store", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("store"))
    code = models.CharField(_("pickup code"), max_length=12, null=True, blank=True, unique=True)
    coupon = models.OneToOneField(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    gift_issue = models.OneToOneField("service.GiftIssue", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("by"))
    created_at = models.DateTimeField(_("redeemed at"))
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        verbose_name = _("points mall redemption")
        verbose_name_plural = _("points mall redemptions")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["member", "created_at"])]
        constraints = [models.CheckConstraint(condition=models.Q(points__gt=0), name="mall_redemption_points")]

    @property
    def display_code(self) -> str:
        """The pickup code as shown and read out: XXXX-XXXX-XXXX."""
        from .codes import display_code

        return display_code(self.code or "")
