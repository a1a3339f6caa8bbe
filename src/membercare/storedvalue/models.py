"""Stored-value cards, their ledger, refund requests and the rules' versions. Amounts in yuan, 2 places."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from membercare.core.crypto import EncryptedTextField
from membercare.core.models import VersionedSettings


class StoredValueSettings(VersionedSettings):
    """The stored-value rules (storedvalue.rules.DEFAULTS is the shape); the newest version is in force."""

    params = models.JSONField(_("settings"))

    class Meta:
        verbose_name = _("stored-value settings version")
        verbose_name_plural = _("stored-value settings versions")
        ordering = ["-created_at", "-pk"]


class CardState(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    CLOSED = "closed", _("Closed")  # its balance moved to the card that replaced it


class StoredValueCard(models.Model):
    """A member's stored-value card in one scope (the chain: scope "", or a brand's code). The balances are
    kept equal to the sums of the card's ledger entries, under the member's account lock."""

    number = models.CharField(_("stored-value card number"), max_length=20, unique=True)
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="stored_value_cards",
                               verbose_name=_("member"))
    scope = models.CharField(_("scope"), max_length=20, blank=True, default="")
    named = models.BooleanField(_("named card"), default=True)
    status = models.CharField(_("status"), max_length=10, choices=CardState.choices, default=CardState.ACTIVE)
    principal = models.DecimalField(_("principal"), max_digits=12, decimal_places=2, default=0)
    bonus = models.DecimalField(_("bonus"), max_digits=12, decimal_places=2, default=0)
    expires_on = models.DateField(_("valid until"), null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("replaced by"))
    frozen_reason = models.CharField(_("reason frozen"), max_length=200, blank=True, default="")
    code_hash = models.CharField(max_length=128, blank=True, default="")  # the member's PIN, hashed (never plain)
    code_failures = models.PositiveSmallIntegerField(default=0)  # wrong member codes in a row
    code_locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("issued at"))

    class Meta:
        verbose_name = _("stored-value card")
        verbose_name_plural = _("stored-value cards")
        constraints = [
            models.CheckConstraint(condition=Q(principal__gte=0), name="sv_card_principal_not_negative"),
            models.CheckConstraint(condition=Q(bonus__gte=0), name="sv_card_bonus_not_negative"),
            # one live card (active or frozen) per member and scope
            models.UniqueConstraint(fields=["member", "scope"], condition=~Q(status="closed"),
                                    name="sv_card_one_live_per_scope"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def balance(self):
        return self.principal + self.bonus


class EntryKind(models.TextChoices):
    TOP_UP = "top_up", _("Top-up")
    SPEND = "spend", _("Spent at checkout")
    RETURN = "return", _("Returned to the card")
    REFUND = "refund", _("Balance refunded")
    FORFEIT = "forfeit", _("Bonus forfeited")
    TRANSFER_OUT = "transfer_out", _("Moved to a new card")
    TRANSFER_IN = "transfer_in", _("Moved from a lost card")


class StoredValueEntry(models.Model):
    """One change of a card's principal and bonus (signed); never edited or deleted."""

    card = models.ForeignKey(StoredValueCard, on_delete=models.PROTECT, related_name="entries")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=20, choices=EntryKind.choices)
    principal = models.DecimalField(_("principal"), max_digits=12, decimal_places=2)
    bonus = models.DecimalField(_("bonus"), max_digits=12, decimal_places=2)
    receipt = models.ForeignKey("sales.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    method = models.ForeignKey("sales.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("payment method"))
    store = models.ForeignKey("org.Store", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("store"))
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("operator"))
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("stored-value entry")
        verbose_name_plural = _("stored-value entries")
        indexes = [models.Index(fields=["card", "created_at"]),
                   models.Index(fields=["receipt"], condition=Q(receipt__isnull=False), name="sv_entry_receipt")]

    @property
    def amount(self):
        return self.principal + self.bonus


class RefundState(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved and paid")
    REJECTED = "rejected", _("Rejected")


class StoredValueRefund(models.Model):
    """A member's request to have the balance paid back (principal only; the bonus is forfeited), which HQ
    approves or rejects."""

    card = models.ForeignKey(StoredValueCard, on_delete=models.PROTECT, related_name="refunds")
    status = models.CharField(_("status"), max_length=10, choices=RefundState.choices, default=RefundState.PENDING)
    reason = models.CharField(_("reason"), max_length=200)
    store = models.ForeignKey("org.Store", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("store"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reject_reason = models.CharField(_("reason rejected"), max_length=200, blank=True, default="")
    principal_refunded = models.DecimalField(_("principal refunded"), max_digits=12, decimal_places=2, default=0)
    bonus_forfeited = models.DecimalField(_("bonus forfeited"), max_digits=12, decimal_places=2, default=0)
    method = models.ForeignKey("sales.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("paid back by"))

    class Meta:
        verbose_name = _("stored-value refund")
        verbose_name_plural = _("stored-value refunds")
        constraints = [models.UniqueConstraint(fields=["card"], condition=Q(status="pending"),
                                               name="sv_refund_one_pending_per_card")]


class StoredValueReconciliation(models.Model):
    """One run of the daily reconciliation (storedvalue.reconcile): every card's ledger summed against its
    balance columns, and the chain's balances against the ledger's liability. `differences` lists what did not
    match (at most 100 cards, then the count); empty when the books agree."""

    day = models.DateField(_("day"))
    ran_at = models.DateTimeField(_("run at"))
    cards_checked = models.PositiveIntegerField(_("cards checked"), default=0)
    cards_off = models.PositiveIntegerField(_("cards that differ"), default=0)
    balances_total = models.DecimalField(_("sum of the balances"), max_digits=14, decimal_places=2, default=0)
    ledger_total = models.DecimalField(_("sum of the ledger"), max_digits=14, decimal_places=2, default=0)
    liability_on_day = models.DecimalField(_("liability at the end of the day"), max_digits=14, decimal_places=2,
                                           default=0)
    differences = models.JSONField(_("differences"), default=list)

    class Meta:
        verbose_name = _("stored-value reconciliation")
        verbose_name_plural = _("stored-value reconciliations")
        ordering = ["-ran_at", "-pk"]

    @property
    def ok(self) -> bool:
        return not self.differences


# ------------------------------------------------------------------------------------ gift cards (礼品卡)


class GiftCardBatch(models.Model):
    """A batch of anonymous prepaid cards (不记名卡) made by HQ: `count` cards of `face_value`, each valid
    `valid_days` from its activation, sold and spent in `scope` ("" the chain, or a brand's code). The plain codes
    are kept sealed (encrypted) only until HQ exports the list once; after that only their hashes remain."""

    name = models.CharField(_("name"), max_length=80)
    face_value = models.DecimalField(_("face value"), max_digits=12, decimal_places=2)
    count = models.PositiveIntegerField(_("number of cards"))
    valid_days = models.PositiveIntegerField(_("valid days from activation"))
    scope = models.CharField(_("scope"), max_length=20, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"))
    exported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("codes exported by"))
    exported_at = models.DateTimeField(_("codes exported at"), null=True, blank=True)

    class Meta:
        verbose_name = _("gift card batch")
        verbose_name_plural = _("gift card batches")
        ordering = ["-created_at", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(face_value__gt=0), name="gc_batch_face_value_positive")]

    def __str__(self) -> str:
        return self.name


class GiftCardState(models.TextChoices):
    NEW = "new", _("Not sold yet")
    ACTIVE = "active", _("Active")
    VOID = "void", _("Void")


class GiftCard(models.Model):
    """One gift card: a public serial number (GC + 10 digits, printed on the card) and a secret code (under the
    scratch-off), kept as its SHA-256 hash and last 4 characters. The balance is kept equal to the card's ledger
    (GiftCardEntry) under the card's row lock; never negative."""

    batch = models.ForeignKey(GiftCardBatch, on_delete=models.PROTECT, related_name="cards")
    serial = models.CharField(_("gift card number"), max_length=20, unique=True)
    code_hash = models.CharField(max_length=64, unique=True)
    code_last4 = models.CharField(_("code ends with"), max_length=4)
    code_sealed = models.TextField(blank=True, default="")  # the code encrypted, until the batch's one export
    status = models.CharField(_("status"), max_length=10, choices=GiftCardState.choices, default=GiftCardState.NEW)
    balance = models.DecimalField(_("balance"), max_digits=12, decimal_places=2, default=0)
    member = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="gift_cards", verbose_name=_("member"))
    activated_at = models.DateTimeField(_("sold at"), null=True, blank=True)
    activated_store = models.ForeignKey("org.Store", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("sold at store"))
    expires_on = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("gift card")
        verbose_name_plural = _("gift cards")
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="gc_card_balance_not_negative")]

    def __str__(self) -> str:
        return self.serial


class GiftCardSale(models.Model):
    """Gift cards sold at a counter in one go (GS + 10 digits), paid with one recorded payment method (never stored
    value or a gift card). Not a goods receipt: the money is a liability until the cards are spent, so it earns no
    points and is not a sale in the reports. From `real_name_from` the buyer's name and ID number are recorded
    (实名登记), the ID number encrypted."""

    number = models.CharField(_("gift card sale number"), max_length=20, unique=True)
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    method = models.ForeignKey("sales.PaymentMethod", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("payment method"))
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("operator"))
    buyer_name = models.CharField(_("buyer's name"), max_length=50, blank=True, default="")
    buyer_id_number = EncryptedTextField(_("buyer's ID number"), blank=True, default="")
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("gift card sale")
        verbose_name_plural = _("gift card sales")


class GiftEntryKind(models.TextChoices):
    SALE = "sale", _("Sold (activated)")
    SPEND = "spend", _("Spent at checkout")
    RETURN = "return", _("Returned to the gift card")
    TRANSFER = "transfer", _("Transferred to another member")  # amount 0: the holder changes, not the balance
    VOID = "void", _("Voided")  # amount 0: an unsold card is voided by HQ, the reason in `note`


class GiftCardEntry(models.Model):
    """One change of a gift card's balance (signed); never edited or deleted. A sale's entry names the payment
    method through its GiftCardSale."""

    card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=GiftEntryKind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    member = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               db_index=False)
    receipt = models.ForeignKey("sales.Receipt", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    sale = models.ForeignKey(GiftCardSale, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    method = models.ForeignKey("sales.PaymentMethod", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("payment method"))
    store = models.ForeignKey("org.Store", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("store"))
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("operator"))
    created_at = models.DateTimeField(_("time"))
    note = models.CharField(_("note"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("gift card entry")
        verbose_name_plural = _("gift card entries")
        indexes = [models.Index(fields=["card", "created_at"]),
                   models.Index(fields=["receipt"], condition=Q(receipt__isnull=False), name="gc_entry_receipt"),
                   models.Index(fields=["member"], condition=Q(member__isnull=False), name="gc_entry_member")]
