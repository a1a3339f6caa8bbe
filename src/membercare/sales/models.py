from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Series(models.Model):
    """Product series (business, leather, golf, ...): card thresholds are set per series."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("product series")
        verbose_name_plural = _("product series")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    brand = models.ForeignKey("org.Brand", on_delete=models.PROTECT, related_name="products", verbose_name=_("brand"))
    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="products", verbose_name=_("series"))
    full_price = models.DecimalField(_("full price"), max_digits=10, decimal_places=2)
    is_consumable = models.BooleanField(_("consumable"), default=False)
    # the code printed under the bars (EAN-13/UPC/the chain's own); a scanner types it at the counter
    barcode = models.CharField(_("barcode"), max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [models.UniqueConstraint(fields=["barcode"], condition=~models.Q(barcode=""),
                                               name="sales_product_barcode_key")]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Receipt(models.Model):
    """A sale (or a return, with negative amounts) at a store. Amounts in yuan, 2 places."""

    class Source(models.TextChoices):
        LIVE = "live", _("Recorded live")
        UPLOAD = "upload", _("Uploaded by an offline store")
        HISTORY = "history", _("Imported history")

    number = models.CharField(_("receipt number"), max_length=30)  # unique: see Meta.constraints
    # member, store and original have no index of their own: (member, sold_at) and (store, sold_at) serve
    # them, and returns (the few receipts with an original) have a partial index; each index costs every sale
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="receipts", verbose_name=_("store"),
                              db_index=False)
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts",
        verbose_name=_("clerk"),
    )
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts",
        verbose_name=_("member"), db_index=False,
    )
    card_number = models.CharField(_("card number"), max_length=20, blank=True)
    sold_at = models.DateTimeField(_("time"))
    total_full_price = models.DecimalField(_("full price"), max_digits=12, decimal_places=2)
    total_paid = models.DecimalField(_("paid"), max_digits=12, decimal_places=2)
    is_group_purchase = models.BooleanField(_("group purchase"), default=False)
    member_signed = models.BooleanField(_("member signed"), default=False)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.LIVE)
    original = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="returns",
                                 verbose_name=_("returned from"), db_index=False)
    tier = models.CharField(_("card"), max_length=20, blank=True, default="")
    birthday_privilege = models.BooleanField(_("birthday privilege"), default=False)
    points_earned = models.IntegerField(_("points earned"), default=0)
    points_redeemed = models.IntegerField(_("points redeemed"), default=0)
    points_offset = models.DecimalField(_("points offset"), max_digits=12, decimal_places=2, default=0)
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    late_upload = models.BooleanField(_("uploaded late"), default=False)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        indexes = [
            # covering the member's rolling spend at a brand (loyalty.tiers): one or two index pages per
            # member at checkout instead of a heap page per receipt
            models.Index(fields=["member", "sold_at"], include=["store", "total_paid"], name="receipt_member_sold"),
            models.Index(fields=["store", "sold_at"]),
            models.Index(fields=["original"], condition=models.Q(original__isnull=False), name="receipt_returns"),
        ]
        # a constraint rather than unique=True: PostgreSQL then gets no second, pattern-ops index for LIKE
        # searches (none are made on receipt numbers), one index less to write per sale
        constraints = [models.UniqueConstraint(fields=["number"], name="sales_receipt_number_key")]

    def __str__(self) -> str:
        return self.number


class ReceiptLine(models.Model):
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.IntegerField(_("quantity"), default=1)
    full_price = models.DecimalField(_("full price"), max_digits=12, decimal_places=2)
    paid_amount = models.DecimalField(_("paid"), max_digits=12, decimal_places=2)
    on_promotion = models.BooleanField(_("on promotion"), default=False)
    birthday_items = models.IntegerField(_("birthday items"), default=0)
    original_line = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                      db_index=False)  # partial index below: only return lines have one

    class Meta:
        verbose_name = _("receipt line")
        verbose_name_plural = _("receipt lines")
        indexes = [models.Index(fields=["original_line"], condition=models.Q(original_line__isnull=False),
                                name="receiptline_returns")]


class ReceiptAdjustment(models.Model):
    """What one adjustment or tender of the sale pipeline took off the receipt (the card discount, the birthday
    privilege, an exclusive sale, a coupon, the points offset…): the receipt shows each, as the till did."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="adjustments", db_index=False)
    kind = models.CharField(_("kind"), max_length=30)  # the provider's name (sales.pipeline.Adjustment.name)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("receipt adjustment")
        verbose_name_plural = _("receipt adjustments")
        indexes = [models.Index(fields=["receipt", "kind"])]


class PaymentMethod(models.Model):
    """A way the customer pays at the till (cash, bank card, WeChat Pay, Alipay…): data, so a chain adds its
    own and stored value or gift cards join the list."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=30)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class ReceiptPayment(models.Model):
    """What was paid (or refunded, negative) with one payment method on a receipt."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="payments")
    method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("payment method"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")


class SalesUpload(models.Model):
    """An offline store's sales file: previewed first (dry run), posted receipt by receipt on confirm."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        POSTING = "posting", _("Posting")
        POSTED = "posted", _("Posted")
        DISCARDED = "discarded", _("Discarded")

    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="sales_uploads",
                              verbose_name=_("store"))
    file = models.FileField(_("file"), upload_to="sales_uploads/%Y/%m/", blank=True)
    original_name = models.CharField(_("file name"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(_("uploaded at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PREVIEWED)
    summary = models.JSONField(default=dict)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("posted by"))
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    receipts = models.ManyToManyField(Receipt, blank=True, related_name="+", verbose_name=_("receipts"))

    class Meta:
        verbose_name = _("sales upload")
        verbose_name_plural = _("sales uploads")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name
