"""Models of the service app: complaints (nine steps), gifts (catalogue, stock per store, a movements ledger,
every gift given) and satisfaction surveys (one tokenised link, answered once)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from membercare.core.models import VersionedSettings


class ServiceSettings(VersionedSettings):
    """Complaint deadlines, repeat detection and survey settings (service.config.DEFAULTS is the shape)."""

    params = models.JSONField(_("settings"))

    class Meta:
        verbose_name = _("service settings version")
        verbose_name_plural = _("service settings versions")
        ordering = ["-created_at", "-pk"]


# ------------------------------------------------------------------------------------ complaints


class ComplaintCategory(models.TextChoices):
    QUALITY = "quality", _("Product quality")
    FIT = "fit", _("Size or fit")
    SERVICE = "service", _("Service attitude")
    PRICE = "price", _("Price or billing")
    AFTER_SALES = "after_sales", _("Alteration, repair or return")
    MEMBERSHIP = "membership", _("Card, points or privileges")
    ENVIRONMENT = "environment", _("Store environment")
    OTHER = "other", pgettext_lazy("complaint category", "Other")


class Severity(models.TextChoices):
    HIGH = "high", pgettext_lazy("severity", "High")
    MEDIUM = "medium", pgettext_lazy("severity", "Medium")
    LOW = "low", pgettext_lazy("severity", "Low")


class ComplaintState(models.TextChoices):
    """The nine steps (DOMAIN.md "Complaints"), in order; the state is the step to do next."""

    LISTEN = "listen", _("Listen and empathise")
    TALK = "talk", _("Talk it through")
    APOLOGISE = "apologise", _("Sincere apology")
    ANALYSE = "analyse", _("Analyse and restate")
    EXPLAIN = "explain", _("Explain")
    HANDLE = "handle", _("Handle: a fair remedy")
    COMPENSATE = "compensate", _("Compensate")
    RESULT = "result", _("Result: is the member satisfied?")
    FOLLOW_UP = "follow_up", _("Follow-up")
    CLOSED = "closed", pgettext_lazy("complaint", "Closed")


STEPS = [s for s in ComplaintState.values if s != ComplaintState.CLOSED]


class Complaint(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="complaints",
                               verbose_name=_("member"))
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="complaints",
                              verbose_name=_("store"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("opened by"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_complaints", verbose_name=_("owner"))
    category = models.CharField(_("category"), max_length=20, choices=ComplaintCategory.choices)
    product = models.ForeignKey("sales.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("product"))
    sku = models.CharField(_("product or SKU"), max_length=60, blank=True, default="")
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    description = models.TextField(_("what the member said"))
    state = models.CharField(_("step"), max_length=12, choices=ComplaintState.choices,
                             default=ComplaintState.LISTEN)
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("deadline"))
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("escalated to"))
    remedy = models.TextField(_("remedy"), blank=True, default="")
    satisfied = models.BooleanField(_("member satisfied"), null=True, blank=True)
    settlement = models.TextField(_("settled on the spot"), blank=True, default="")
    resolved_at = models.DateTimeField(_("result recorded at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    follow_up_task = models.ForeignKey("care.Task", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", verbose_name=_("follow-up task"))

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["store", "state"]), models.Index(fields=["owner", "state"]),
                   models.Index(fields=["state", "due_at"]), models.Index(fields=["category", "opened_at"])]
        constraints = [
            # the database refuses a closed complaint without a remedy and a result, whoever writes it
            models.CheckConstraint(condition=~Q(state="closed") | (~Q(remedy="") & Q(satisfied__isnull=False)),
                                   name="complaint_closed_has_remedy_and_result"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state != ComplaintState.CLOSED


class ComplaintStep(models.Model):
    """What was done and said at one step of a complaint (one row per step)."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("step"), max_length=12, choices=ComplaintState.choices)
    note = models.TextField(_("note"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                           verbose_name=_("by"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("complaint step")
        verbose_name_plural = _("complaint steps")
        ordering = ["complaint", "at", "pk"]
        constraints = [models.UniqueConstraint(fields=["complaint", "step"], name="complaint_step_once"),
                       models.CheckConstraint(condition=~Q(note=""), name="complaint_step_note_required")]


# ------------------------------------------------------------------------------------------ gifts


class Gift(models.Model):
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2, default=0)
    points_cost = models.PositiveIntegerField(_("points to redeem"), null=True, blank=True,
                                              help_text=_("Empty: cannot be redeemed for points."))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("gift")
        verbose_name_plural = _("gifts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class GiftStock(models.Model):
    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, related_name="stocks", verbose_name=_("gift"))
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="gift_stocks",
                              verbose_name=_("store"))
    quantity = models.PositiveIntegerField(_("in stock"), default=0)
    low_threshold = models.PositiveIntegerField(_("low-stock threshold"), default=5)

    class Meta:
        verbose_name = _("gift stock")
        verbose_name_plural = _("gift stock")
        constraints = [models.UniqueConstraint(fields=["gift", "store"], name="gift_stock_once"),
                       models.CheckConstraint(condition=Q(quantity__gte=0), name="gift_stock_not_negative")]

    @property
    def is_low(self) -> bool:
        return self.quantity <= self.low_threshold


class GiftReason(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday")
    HOLIDAY = "holiday", _("Holiday")
    COMPENSATION = "compensation", _("Compensation for a complaint")
    POINTS = "points", _("Redeemed for points")
    OTHER = "other", pgettext_lazy("gift reason", "Other")


class GiftIssue(models.Model):
    """One gift given to a member."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="gift_issues",
                               verbose_name=_("member"))
    gift = models.ForeignKey(Gift, on_delete=models.PROTECT, related_name="issues", verbose_name=_("gift"))
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    reason = models.CharField(_("reason"), max_length=15, choices=GiftReason.choices)
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("given by"))
    at = models.DateTimeField(_("given at"))
    complaint = models.ForeignKey(Complaint, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="gift_issues", verbose_name=_("complaint"))
    points_entry = models.ForeignKey("loyalty.PointsEntry", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("points entry"))
    points = models.PositiveIntegerField(_("points taken"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("gift given")
        verbose_name_plural = _("gifts given")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["member", "at"]), models.Index(fields=["store", "at"])]


class StockMovement(models.Model):
    """The stock ledger: every receipt, issue and adjustment, with the quantity after it."""

    class Kind(models.TextChoices):
        RECEIVE = "receive", _("Received")
        ISSUE = "issue", _("Given out")
        ADJUST = "adjust", _("Adjusted")

    stock = models.ForeignKey(GiftStock, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    quantity = models.IntegerField(_("quantity"))  # + in, - out
    balance = models.PositiveIntegerField(_("in stock after"))
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    issue = models.ForeignKey(GiftIssue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                           verbose_name=_("by"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["stock", "at"])]


# ---------------------------------------------------------------------------------------- surveys


class Survey(models.Model):
    """A satisfaction survey sent to a member after a callback or a closed complaint. Only the SHA-256 of
    the link's token is kept (unique): the link in the message is the only way in."""

    class Source(models.TextChoices):
        CALLBACK = "callback", _("Callback")
        COMPLAINT = "complaint", _("Complaint")

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="surveys",
                               verbose_name=_("member"))
    store = models.ForeignKey("org.Store", null=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("store"))
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("clerk"))
    source = models.CharField(_("after"), max_length=10, choices=Source.choices)
    contact = models.OneToOneField("care.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="survey")
    complaint = models.OneToOneField(Complaint, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="survey")
    token_hash = models.CharField(max_length=64, unique=True)
    message = models.ForeignKey("messaging.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    send_error = models.CharField(_("not sent because"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("valid until"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    csat = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), null=True, blank=True)
    nps = models.PositiveSmallIntegerField(_("likely to recommend (0-10)"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, default="")

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["store", "answered_at"]), models.Index(fields=["clerk", "answered_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(csat__isnull=True) | Q(csat__gte=1, csat__lte=5),
                                   name="survey_csat_range"),
            models.CheckConstraint(condition=Q(nps__isnull=True) | Q(nps__lte=10), name="survey_nps_range"),
        ]


# ------------------------------------------------------------------------------- after-sales service


class ServiceKind(models.TextChoices):
    ALTERATION = "alteration", _("Alteration")
    REPAIR = "repair", _("Repair")


class ServiceStatus(models.TextChoices):
    """received → in workshop → ready → collected (forward only); cancelled from any open status."""

    RECEIVED = "received", pgettext_lazy("service order", "Received")
    IN_WORKSHOP = "in_workshop", _("In the workshop")
    READY = "ready", _("Ready for collection")
    COLLECTED = "collected", _("Collected")
    CANCELLED = "cancelled", pgettext_lazy("service order", "Cancelled")


SERVICE_PATH = [ServiceStatus.RECEIVED, ServiceStatus.IN_WORKSHOP, ServiceStatus.READY, ServiceStatus.COLLECTED]
SERVICE_OPEN = [ServiceStatus.RECEIVED, ServiceStatus.IN_WORKSHOP, ServiceStatus.READY]


class ServiceOrder(models.Model):
    """An alteration or repair taken in for a member (after-sales service): free or charged, walked through
    the workshop; a care task asks to call the member when it is ready."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="service_orders",
                              verbose_name=_("store"))
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="service_orders",
                               verbose_name=_("member"))
    receipt_line = models.ForeignKey("sales.ReceiptLine", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("purchase"))
    item = models.CharField(_("item"), max_length=100, blank=True, default="")
    kind = models.CharField(_("kind"), max_length=12, choices=ServiceKind.choices)
    work = models.TextField(_("what to do"))
    promised_on = models.DateField(_("promised date"))
    charged = models.BooleanField(_("charged"), default=False)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=12, choices=ServiceStatus.choices,
                              default=ServiceStatus.RECEIVED)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True, default="")
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("taken in by"))
    received_at = models.DateTimeField(_("received at"))
    workshop_at = models.DateTimeField(_("sent to the workshop at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    ready_task = models.ForeignKey("care.Task", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("call task"))
    # a free alteration taken from the member's perk (loyalty.perks: counted against the card's quota)
    perk_use = models.ForeignKey("loyalty.PerkUse", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("perk use"))

    class Meta:
        verbose_name = _("service order")
        verbose_name_plural = _("service orders")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["store", "status", "promised_on"]),
                   models.Index(fields=["member", "status"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="service_order_amount_not_negative"),
            models.CheckConstraint(condition=Q(charged=True) | Q(amount=0), name="service_order_free_is_zero"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in SERVICE_OPEN

    @property
    def item_label(self) -> str:
        if self.item:
            return self.item
        if self.receipt_line_id:
            return self.receipt_line.product.name
        return ""
