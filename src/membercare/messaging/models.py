"""Messages to members: templates, the outbox (one row per message, with its delivery status), bulk sends,
opt-outs and inbound replies, and the messaging settings as versioned data."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from membercare.core.models import VersionedSettings


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    WECHAT = "wechat", _("WeChat")


class Category(models.TextChoices):
    BIRTHDAY = "birthday", _("Birthday greeting")
    HOLIDAY = "holiday", _("Holiday greeting")
    SEASON = "season", _("Season change")
    MISSING_YOU = "missing_you", _("Missing you")
    NEW_ARRIVALS = "new_arrivals", _("New arrivals")
    PROMOTION = "promotion", _("Promotion")
    CALLBACK = "callback", _("Callback follow-up")
    SURVEY = "survey", _("Survey link")
    EVENT = "event", _("Event invitation")
    VERIFICATION = "verification", _("Verification code")  # transactional: messaging.otp
    POINTS_EXPIRY = "points_expiry", _("Points expiring")  # a service notice (care's points_expiring rule)


class MessagingSettings(VersionedSettings):
    """Content rules per category, quiet hours, frequency cap, costs (messaging.config.DEFAULTS is the
    shape); each edit is a new version."""

    params = models.JSONField(_("settings"))

    class Meta:
        verbose_name = _("messaging settings version")
        verbose_name_plural = _("messaging settings versions")
        ordering = ["-created_at", "-pk"]


class MessageTemplate(models.Model):
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices,
                               default=MessageChannel.SMS)
    subject = models.CharField(_("subject (email)"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    sms_template_code = models.CharField(_("SMS provider template code"), max_length=50, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("changed by"))
    updated_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["category", "name"]

    def __str__(self) -> str:
        return self.name


class BulkSend(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        ENQUEUEING = "enqueueing", _("Preparing messages")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=100)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="bulk_sends",
                                 verbose_name=_("template"))
    audience = models.JSONField(_("audience"), default=dict)  # messaging.bulk.audience_queryset() reads it
    scheduled_at = models.DateTimeField(_("send at"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    preview = models.JSONField(default=dict)  # counts by reason at the time of scheduling
    enqueued_up_to = models.BigIntegerField(default=0)  # member id reached by the enqueueing (resume point)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("bulk send")
        verbose_name_plural = _("bulk sends")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent")
    UNKNOWN = "unknown", _("Unknown (interrupted while sending)")


class Message(models.Model):
    """One message to one member on one channel. Bulk messages are unique per (bulk send, member)."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    is_marketing = models.BooleanField(_("marketing"), default=False)
    # no separate indexes on these keys: each one costs every insert of a 100k bulk send; the bulk's
    # messages are found through the (bulk, member) unique index
    template = models.ForeignKey(MessageTemplate, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("template"), db_index=False)
    bulk = models.ForeignKey(BulkSend, null=True, blank=True, on_delete=models.CASCADE, related_name="messages",
                             verbose_name=_("bulk send"), db_index=False)
    task = models.ForeignKey("care.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to = models.CharField(_("to"), max_length=200)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    params = models.JSONField(default=dict)  # the placeholder values (SMS providers take template + params)
    store = models.ForeignKey("org.Store", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("store"), db_index=False)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("sent by"), db_index=False)
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices,
                              default=MessageStatus.QUEUED)
    skip_reason = models.CharField(_("reason not sent"), max_length=20, blank=True)
    send_after = models.DateTimeField(_("send after"))
    claimed_at = models.DateTimeField(null=True, blank=True)  # when a worker took it for sending
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    provider_id = models.CharField(_("provider reference"), max_length=100, blank=True)
    segments = models.PositiveSmallIntegerField(_("billed segments"), default=0)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [models.UniqueConstraint(fields=["bulk", "member"], name="message_once_per_bulk",
                                               condition=models.Q(bulk__isnull=False))]
        # the worker's claim reads (status, send_after, id) in index order: no sort of the whole queue
        indexes = [models.Index(fields=["status", "send_after", "id"], name="message_due"),
                   models.Index(fields=["member", "created_at"]),
                   models.Index(fields=["created_at"])]


class OptOut(models.Model):
    """The member asked not to be messaged on this channel (a TD / 退订 / STOP reply, or at the counter)."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="opt_outs")
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    at = models.DateTimeField(_("at"))
    source = models.CharField(_("how"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        constraints = [models.UniqueConstraint(fields=["member", "channel"], name="opt_out_once")]


class InboundMessage(models.Model):
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    sender = models.CharField(_("from"), max_length=200)
    body = models.TextField(_("text"))
    received_at = models.DateTimeField(_("received at"))
    member = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    action = models.CharField(_("action taken"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at"]


class BulkHoldout(models.Model):
    """A member of a bulk send's audience held out on purpose (the control group): gets nothing, and their
    purchases are compared with the recipients' (messaging.selectors.bulk_send_results)."""

    bulk = models.ForeignKey(BulkSend, on_delete=models.CASCADE, related_name="holdouts")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        verbose_name = _("hold-out member")
        verbose_name_plural = _("hold-out members")
        constraints = [models.UniqueConstraint(fields=["bulk", "member"], name="bulk_holdout_once")]


class OneTimeCode(models.Model):
    """A one-time code sent by SMS (messaging.otp) for one purpose ("stored_value_spend", "member_login"…):
    only its salted hash is kept; it expires, is used at most once and allows a few wrong tries."""

    phone = models.CharField(_("mobile phone"), max_length=20)
    purpose = models.CharField(_("purpose"), max_length=30)
    member = models.ForeignKey("members.Member", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    code_hash = models.CharField(max_length=100)  # "salt$hmac-sha256", never the code
    failures = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                db_index=False)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [models.Index(fields=["phone", "purpose", "created_at"], name="otp_phone_purpose"),
                   models.Index(fields=["ip", "created_at"], name="otp_ip", condition=models.Q(ip__isnull=False))]
