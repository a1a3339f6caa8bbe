from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from membercare.core.models import VersionedSettings


class CardKind(models.TextChoices):
    """The default programme's level codes (a chain's programme may define others: Card.kind is any code;
    labels come from the programme, `programme.card_label`)."""

    ACCUMULATION = "accumulation", _("Accumulation card")
    ELITE = "elite", _("Elite card")
    DIAMOND = "diamond", _("Diamond card")
    KNIGHT = "knight", _("Knight card")


class CardStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting signature")
    ACTIVE = "active", _("Active")
    VOID = "void", _("Void")
    EXPIRED = "expired", _("Expired")


class Card(models.Model):
    """A membership card. The loyalty engine (cards, tiers, points) builds on this record."""

    number = models.CharField(_("card number"), max_length=20, unique=True)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="cards")
    kind = models.CharField(_("card"), max_length=20)  # a level code of the programme (programme.card_label)
    status = models.CharField(_("status"), max_length=10, choices=CardStatus.choices, default=CardStatus.ACTIVE)
    brand = models.ForeignKey("org.Brand", on_delete=models.PROTECT, related_name="cards", verbose_name=_("brand"))
    issued_at = models.DateTimeField(_("issued at"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("replaced by"))
    void_reason = models.CharField(_("reason void"), max_length=200, blank=True, default="")
    is_group_purchase = models.BooleanField(_("from a group purchase"), default=False)
    upgraded_by = models.ForeignKey("sales.Receipt", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("upgraded by receipt"))
    previous_kind = models.CharField(_("card before the upgrade"), max_length=20, blank=True, default="")

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        self.number = normalize_card_number(self.number)  # looked up by exact match, so one spelling
        super().save(*args, **kwargs)


def normalize_card_number(value: str) -> str:
    return "".join((value or "").split()).replace("-", "").upper()


class ProgrammeVersion(VersionedSettings):
    """The loyalty programme as data: each edit is a new version that applies from a stated date.

    `rules` follows loyalty.programme.Programme (tiers, thresholds per series, windows, discounts,
    birthday privileges, points, card validity, retention, offline upload deadline).
    """

    effective_from = models.DateField(_("applies from"))
    rules = models.JSONField(_("rules"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    document_field = "rules"
    effective_field = "effective_from"  # a version applies from its date, not from being saved

    class Meta:
        verbose_name = _("programme version")
        verbose_name_plural = _("programme versions")
        ordering = ["-effective_from", "-pk"]


class LoyaltyAccount(models.Model):
    """One per member: the points balance (always the sum of the ledger) and the row every write for
    this member locks first, so two stores acting at once are serialised."""

    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, related_name="loyalty",
                                  primary_key=True)
    points = models.IntegerField(_("points"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")
        constraints = [models.CheckConstraint(condition=models.Q(points__gte=0), name="loyalty_points_not_negative")]


class PointsEntry(models.Model):
    """The points ledger. Earn entries are lots: `remaining` is what redemptions and expiry have not
    consumed yet (oldest first)."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        REVERSE = "reverse", _("Reversed")
        ADJUST = "adjust", _("Adjusted")
        REFUND = "refund", _("Refunded")
        DONATION = "donation", _("Donated")

    class Source(models.TextChoices):
        """What an entry came from besides a sale: an event of the programme's earn_events, or a manual
        adjustment's category."""

        SURVEY = "survey", _("Survey answered")
        PROFILE = "profile", _("Profile completed")
        MEMBER_DATE = "member_date", _("Membership anniversary")
        CORRECTION = "correction", _("Correction")
        COMPENSATION = "compensation", _("Compensation")
        GOODWILL = "goodwill", _("Goodwill")
        OTHER = "other", _("Other")

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="points_entries",
                               db_index=False)  # (member, created_at) below serves it
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    remaining = models.IntegerField(_("remaining"), default=0)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    receipt = models.ForeignKey("sales.Receipt", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="points_entries")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("operator"))
    created_at = models.DateTimeField(_("time"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True, default="",
                              db_default="")
    # an event earns once per key ("survey:17", "profile", "member_date:2026"): unique per member
    source_key = models.CharField(max_length=60, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        indexes = [models.Index(fields=["member", "created_at"]),
                   models.Index(fields=["expires_on"], condition=models.Q(remaining__gt=0),
                                name="points_open_lots")]
        constraints = [models.UniqueConstraint(fields=["member", "source_key"], condition=~models.Q(source_key=""),
                                               name="points_event_once")]


class BirthdayUse(models.Model):
    """A birthday privilege used. Unique per member, privilege scope and birthday period: the database
    itself refuses a second use anywhere, whatever the interleaving."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="birthday_uses")
    scope = models.CharField(_("scope"), max_length=20)
    period = models.CharField(_("birthday month"), max_length=7)  # YYYY-MM of the birthday month used
    card_number = models.CharField(_("card number"), max_length=20)
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    receipt = models.OneToOneField("sales.Receipt", on_delete=models.PROTECT, related_name="birthday_use")
    items = models.PositiveSmallIntegerField(_("items"))
    used_at = models.DateTimeField(_("time"))
    exception = models.BooleanField(_("approved exception"), default=False)
    reversed = models.BooleanField(_("returned"), default=False)
    # the clerk typed the member's ID number and it matched the profile (the programme's id_number_required)
    id_number_checked = models.BooleanField(_("ID number checked"), default=False)

    class Meta:
        verbose_name = _("birthday privilege use")
        verbose_name_plural = _("birthday privilege uses")
        constraints = [models.UniqueConstraint(fields=["member", "scope", "period"], name="birthday_once_per_month")]


class PerkUse(models.Model):
    """One use of a card's perk (a free alteration, the airport fast lane…), recorded at the counter or by the POS.
    `perks.perk_use` counts the uses of the member's perk in the period (`period_key`: 2026-12, 2026-Q4, 2026, or
    card:<number> for a quota over the card's lifetime) under the member's account lock and refuses one past the
    quota. A use is never deleted: a mistaken one is marked reversed and no longer counts."""

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="perk_uses")
    card_number = models.CharField(_("card number"), max_length=20)
    tier = models.CharField(_("card"), max_length=20)
    perk_code = models.CharField(_("perk"), max_length=30)
    perk_name = models.CharField(_("perk name"), max_length=40)  # as the programme named it at the time
    period_key = models.CharField(_("period"), max_length=30)
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("clerk"))
    receipt = models.ForeignKey("sales.Receipt", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="perk_uses", verbose_name=_("receipt"))
    used_at = models.DateTimeField(_("time"))
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    reversed = models.BooleanField(_("reversed"), default=False)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("reversed by"))
    reverse_reason = models.CharField(_("reason for reversing"), max_length=200, blank=True, default="",
                                      db_default="")

    class Meta:
        verbose_name = _("perk use")
        verbose_name_plural = _("perk uses")
        indexes = [models.Index(fields=["member", "perk_code", "period_key"], name="perk_use_count")]


class BirthdayException(models.Model):
    """The birthday privilege outside the birthday month, approved by the VIP specialist (e.g. the member was
    away all month). It stands for one birthday month (`period`): using it counts as that month's use, so the
    once-per-birthday-month rule still holds across all stores."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="birthday_exceptions")
    period = models.CharField(_("birthday month"), max_length=7)  # YYYY-MM of the birthday month it stands for
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"))
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("birthday privilege exception")
        verbose_name_plural = _("birthday privilege exceptions")
        indexes = [models.Index(fields=["member", "status", "valid_to"], name="bday_exception_member")]


class ApiKey(models.Model):
    """A POS system's key, per store. Only a hash is stored; the key is shown once when issued."""

    store = models.ForeignKey("org.Store", on_delete=models.CASCADE, related_name="api_keys",
                              verbose_name=_("store"))
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key prefix"), max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("issued at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")


class IdempotencyRecord(models.Model):
    """The first result of a write, replayed to a retry with the same Idempotency-Key."""

    store = models.ForeignKey("org.Store", on_delete=models.CASCADE, related_name="+",
                              db_index=False)  # the unique (store, key) serves it
    key = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="idempotency_key_once_per_store")]


class CardApplication(models.Model):
    """A card application filed by a clerk (or proposed by the rules), reviewed by the VIP specialist."""

    class Kind(models.TextChoices):
        NEW = "new", _("New card")
        ACCUMULATION = "accumulation", _("Accumulation card")
        REISSUE = "reissue", _("Lost-card reissue")
        UPGRADE = "upgrade", _("Exchange or upgrade")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved: waiting for the member's signature")
        REJECTED = "rejected", _("Rejected")
        DONE = "done", _("Card active")

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="card_applications")
    kind = models.CharField(_("application"), max_length=20, choices=Kind.choices)
    card_kind = models.CharField(_("card"), max_length=20)  # a level code of the programme
    old_card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("old card"))
    new_card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("new card"))
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    receipt = models.ForeignKey("sales.Receipt", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("qualifying receipt"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    proposed_by_rules = models.BooleanField(_("proposed by the rules"), default=False)
    note = models.TextField(_("notes"), blank=True)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("filed by"))
    filed_at = models.DateTimeField(_("filed at"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("card application")
        verbose_name_plural = _("card applications")
        indexes = [models.Index(fields=["status", "filed_at"])]


class PointsDonation(models.Model):
    """Points a member gave to one of the programme's charity items (the ledger entry of kind "donation" took
    them); HQ sees the totals per item."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="points_donations",
                               verbose_name=_("member"))
    charity = models.CharField(_("charity item"), max_length=30)
    charity_name = models.CharField(_("charity item"), max_length=40)
    points = models.PositiveIntegerField(_("points"))
    entry = models.OneToOneField(PointsEntry, on_delete=models.PROTECT, related_name="donation")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("operator"))
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("points donation")
        verbose_name_plural = _("points donations")
        indexes = [models.Index(fields=["charity", "created_at"])]
        constraints = [models.CheckConstraint(condition=models.Q(points__gt=0), name="points_donation_positive")]
