"""The care engine's data: configuration, daily segments (current and history), tasks and contacts.

Segments: `MemberSegments` holds each member's current classification (one row per member, rewritten by
the daily job); `SegmentSpan` keeps the history as intervals — a new span starts only when something
changes — so "which segment was this member in on day D" and month-over-month migration are one query.
Tasks: one row per (rule, member, key); the unique constraint makes every task rule idempotent.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from membercare.core.models import VersionedSettings


class Lifecycle(models.TextChoices):  # "lifecycle" context: "Active" is not a card's "Active"
    PROSPECT = "prospect", pgettext_lazy("lifecycle", "Prospect (no purchase yet)")
    NEW = "new", pgettext_lazy("lifecycle", "New")
    ACTIVE = "active", pgettext_lazy("lifecycle", "Active")
    DORMANT = "dormant", pgettext_lazy("lifecycle", "Dormant")
    SLEEPING = "sleeping", pgettext_lazy("lifecycle", "Sleeping")
    LOST = "lost", pgettext_lazy("lifecycle", "Lost")


class SpendClass(models.TextChoices):  # ABC by 12-month spend rank
    A = "A", _("A (key)")
    B = "B", _("B (regular)")
    C = "C", _("C (ordinary)")


class Pyramid(models.TextChoices):  # value pyramid from the RFM scores
    KEY = "key", _("Key customer")
    MAJOR = "major", _("Major customer")
    POTENTIAL = "potential", _("Potential customer")
    TARGET = "target", _("Target customer")


class FollowUp(models.TextChoices):  # seed 002's follow-up class (turnover x profitability, care.segments)
    A = "A", _("A: frequent, full price (weekly)")
    B = "B", _("B: frequent, discounted (every two weeks)")
    C = "C", _("C: occasional, discounted (monthly)")
    D = "D", _("D: to develop")


# seed 004's seven segments, stored as flags
SEVEN_SEGMENTS = [
    ("high_value", _("High value")),
    ("high_loyalty", _("High loyalty")),
    ("high_ticket", _("High ticket")),
    ("low_ticket_high_freq", _("Low ticket, high frequency")),
    ("low_ticket_low_freq", _("Low ticket, low frequency")),
    ("sleeping", _("Sleeping")),
    ("churning", _("Visibly churning")),
]


class CareConfig(VersionedSettings):
    """Segment thresholds and care rules as data (care.config.DEFAULTS is the shape); each edit is a version."""

    params = models.JSONField(_("settings"))
    note = models.CharField(_("note"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("care settings version")
        verbose_name_plural = _("care settings versions")
        ordering = ["-created_at", "-pk"]


class SegmentFields(models.Model):
    """The classification of one member on a day (shared by the current row and the history spans)."""

    lifecycle = models.CharField(_("lifecycle"), max_length=10, choices=Lifecycle.choices)
    spend_class = models.CharField(_("spend class"), max_length=1, choices=SpendClass.choices, blank=True,
                                   default="")
    rfm_r = models.PositiveSmallIntegerField(_("R score"), default=0)  # 1..5, 0 = no purchase in the window
    rfm_f = models.PositiveSmallIntegerField(_("F score"), default=0)
    rfm_m = models.PositiveSmallIntegerField(_("M score"), default=0)
    pyramid = models.CharField(_("value pyramid"), max_length=10, choices=Pyramid.choices, blank=True, default="")
    follow_up = models.CharField(_("follow-up class"), max_length=1, choices=FollowUp.choices, default=FollowUp.D)
    high_value = models.BooleanField(_("high value"), default=False)
    high_loyalty = models.BooleanField(_("high loyalty"), default=False)
    high_ticket = models.BooleanField(_("high ticket"), default=False)
    low_ticket_high_freq = models.BooleanField(_("low ticket, high frequency"), default=False)
    low_ticket_low_freq = models.BooleanField(_("low ticket, low frequency"), default=False)
    sleeping = models.BooleanField(_("sleeping"), default=False)
    churning = models.BooleanField(_("visibly churning"), default=False)

    class Meta:
        abstract = True


SEGMENT_FIELD_NAMES = ["lifecycle", "spend_class", "rfm_r", "rfm_f", "rfm_m", "pyramid", "follow_up",
                       *[code for code, _label in SEVEN_SEGMENTS]]


class MemberSegments(SegmentFields):
    """Current segments and the figures they were computed from (one row per member)."""

    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, primary_key=True,
                                  related_name="segments")
    computed_on = models.DateField(_("computed on"))
    first_purchase_on = models.DateField(_("first purchase"), null=True, blank=True)
    last_purchase_on = models.DateField(_("last purchase"), null=True, blank=True)
    purchase_days_12m = models.PositiveIntegerField(_("purchase days in 12 months"), default=0)
    spend_12m = models.DecimalField(_("spend in 12 months"), max_digits=14, decimal_places=2, default=0)
    receipts_6m = models.PositiveIntegerField(_("receipts in 6 months"), default=0)
    spend_6m = models.DecimalField(_("spend in 6 months"), max_digits=14, decimal_places=2, default=0)
    purchase_days_3m = models.PositiveIntegerField(_("purchase days in 3 months"), default=0)
    # what the 12 months' purchases cost at full price (profitability = spend_12m / full_price_12m)
    full_price_12m = models.DecimalField(_("full price of the purchases in 12 months"), max_digits=14,
                                         decimal_places=2, default=0)
    # spend in the recent window (churn_recent_days) and in the rest of the 12 months (the spend-drop call)
    spend_3m = models.DecimalField(_("spend in 3 months"), max_digits=14, decimal_places=2, default=0)
    spend_before_3m = models.DecimalField(_("spend in the 12 months before the last 3"), max_digits=14,
                                          decimal_places=2, default=0)
    median_gap_days = models.PositiveIntegerField(_("median days between visits"), null=True, blank=True)

    class Meta:
        verbose_name = _("member segments")
        verbose_name_plural = _("member segments")
        indexes = [models.Index(fields=["lifecycle"]), models.Index(fields=["spend_class"]),
                   models.Index(fields=["follow_up"])]


class SegmentSpan(SegmentFields):
    """History: the member had these segments from `valid_from` until the day before `valid_to` (open: now)."""

    # no index of its own: (member, valid_from) below serves it, one index less to write per daily change
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="segment_spans",
                               db_index=False)
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("segment history")
        verbose_name_plural = _("segment history")
        indexes = [models.Index(fields=["member", "valid_from"]), models.Index(fields=["valid_from", "valid_to"])]
        constraints = [models.UniqueConstraint(fields=["member"], condition=models.Q(valid_to__isnull=True),
                                               name="care_span_one_open")]  # at most one open span per member


class DailyRun(models.Model):
    """One run of the daily care job for a day; each step records when it finished, so a run killed
    half-way is resumed (finished steps are skipped) and a second run the same day changes nothing."""

    day = models.DateField(_("day"), unique=True)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    steps = models.JSONField(default=dict)  # {step: {"finished_at": iso, "count": n, "seconds": s}}
    warnings = models.JSONField(default=list)

    class Meta:
        verbose_name = _("daily care run")
        verbose_name_plural = _("daily care runs")
        ordering = ["-day"]


class CareEvent(models.Model):
    """Something members should hear about ahead of time: new stock arriving, a campaign."""

    class Kind(models.TextChoices):
        NEW_STOCK = "new_stock", _("New stock arrives")
        CAMPAIGN = "campaign", _("Campaign")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=100)
    brand = models.ForeignKey("org.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("brand"))
    series = models.ForeignKey("sales.Series", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("series"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    details = models.TextField(_("details"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("care event")
        verbose_name_plural = _("care events")
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return self.title


class FestivalCalendar(models.TextChoices):
    SOLAR = "solar", _("Solar (Gregorian)")
    LUNAR = "lunar", _("Lunar")


class Festival(models.Model):
    """A festival the care rules greet members for (DOMAIN.md "Care plan"): HQ's data, not a list in code.

    Its date each year is computed by care.calendar from the month and day in the solar or lunar calendar.
    `audience_id` names a saved audience (audiences.Audience) the greeting is restricted to, `gender` a gender
    (Women's Day: women, seeded so); care sits below
    audiences, so it is a plain id, resolved through the hook in care.festivals that the audiences app
    registers (no foreign key: care's tables never depend on an upper app's). `code` is what the care
    settings list ("holidays") and task keys (code:year) use; the nine built-in festivals keep their codes.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=30)
    calendar = models.CharField(_("calendar"), max_length=5, choices=FestivalCalendar.choices,
                                default=FestivalCalendar.SOLAR)
    month = models.PositiveSmallIntegerField(_("month"))
    day = models.PositiveSmallIntegerField(_("day"))
    active = models.BooleanField(_("active"), default=True)
    audience_id = models.PositiveBigIntegerField(_("saved audience"), null=True, blank=True)
    # a restriction without an audience: Women's Day greets women ("": any gender); both apply when both are set
    gender = models.CharField(_("gender"), max_length=1, blank=True, default="",
                              choices=[("F", _("Female")), ("M", _("Male"))])
    greeting = models.TextField(_("greeting text"), blank=True, default="")
    channel = models.CharField(_("channel"), max_length=20, blank=True, default="")  # "": the rule's channel
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(_("changed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("festival")
        verbose_name_plural = _("festivals")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class CareChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    VISIT = "visit", _("In store")
    HOME_VISIT = "home_visit", _("Home visit")  # seed 002: 上门拜访


class Task(models.Model):
    """Someone to contact, why, how and by when. (rule, member, key) is unique: a rule run twice on the same
    day, or resumed after a crash, finds its tasks already there."""

    rule = models.CharField(_("rule"), max_length=30)
    key = models.CharField(max_length=40)  # what makes the task unique for the rule: a date, a period, an event
    # member, store and assignee lead the composite indexes below: no single-column index of their own. No
    # database constraint either: the daily job inserts 100,000s of tasks at once (their ids come from joins
    # with those very tables, care.taskgen), and PostgreSQL's deferred checks (a locking look-up per row and
    # key at commit) cost twice the insert; deletions go through Django, which applies on_delete itself.
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="care_tasks",
                               db_index=False, db_constraint=False)
    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="care_tasks",
                              verbose_name=_("store"), db_index=False, db_constraint=False)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="care_tasks", verbose_name=_("assigned to"), db_index=False,
                                 db_constraint=False)
    created_on = models.DateField(_("created on"))
    due_on = models.DateField(_("due on"))
    priority = models.PositiveSmallIntegerField(_("priority"), default=50)  # lower first
    channel = models.CharField(_("channel"), max_length=10, choices=CareChannel.choices,
                               default=CareChannel.PHONE)
    context = models.JSONField(default=dict)  # rule-specific facts for the title and the script hint
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("done by"), db_index=False)

    class Meta:
        verbose_name = _("care task")
        verbose_name_plural = _("care tasks")
        constraints = [models.UniqueConstraint(fields=["rule", "member", "key"], name="care_task_once")]
        indexes = [models.Index(fields=["assignee", "status", "due_on"]),
                   models.Index(fields=["store", "status", "due_on"]),
                   models.Index(fields=["member", "status"]),
                   # only done tasks have one: the daily job's inserts (all open) do not touch it
                   models.Index(fields=["done_by"], condition=models.Q(done_by__isnull=False),
                                name="care_task_done_by")]

    def __str__(self) -> str:
        return f"{self.rule} {self.member_id} {self.key}"


class Outcome(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    CALL_BACK = "call_back", _("Asked to call back later")
    MESSAGE_SENT = "message_sent", _("Message sent")
    REFUSED = "refused", _("Does not want to be contacted")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    DECLINED = "declined", _("Not interested: stop following up")  # ends a prospect's follow-ups


class DormancyReason(models.TextChoices):
    QUALITY = "quality", _("Quality")
    SERVICE = "service", _("Service")
    MOVED = "moved", _("Moved home or work")
    ELSEWHERE = "elsewhere", _("Buys elsewhere")
    TRAVELLING = "travelling", _("Travelling")
    BUSY = "busy", _("Busy")
    NO_TIME = "no_time", _("No time")
    OTHER = "other", _("Other")


class Contact(models.Model):
    """One logged contact with a member (from a task or not)."""

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="contacts")
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("by"))
    store = models.ForeignKey("org.Store", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("store"))
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    at = models.DateTimeField(_("at"))
    channel = models.CharField(_("channel"), max_length=10, choices=CareChannel.choices)
    outcome = models.CharField(_("outcome"), max_length=15, choices=Outcome.choices)
    reason = models.CharField(_("dormancy reason"), max_length=12, choices=DormancyReason.choices, blank=True,
                              default="")
    notes = models.TextField(_("notes"), blank=True)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_due_on = models.DateField(_("next contact on"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [models.Index(fields=["member", "at"]), models.Index(fields=["staff", "at"])]


class StoreCareSettings(models.Model):
    """Per store: who receives tasks of members without an owner, or of a clerk who left."""

    store = models.OneToOneField("org.Store", on_delete=models.CASCADE, primary_key=True,
                                 related_name="care_settings")
    default_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+",
                                         verbose_name=_("default assignee"))

    class Meta:
        verbose_name = _("store care settings")
        verbose_name_plural = _("store care settings")


class PurchaseDay(models.Model):
    """The daily job's compact input, kept up to date from the receipts (care.segments.refresh_purchase_days):
    one row per member and local day (Asia/Shanghai) with a positive net sale. `paid_cents` is what was paid
    that day net of returns (a return counts against the day of the receipt it returns); `receipts` counts
    that day's sale receipts not entirely returned."""

    pk = models.CompositePrimaryKey("member", "day")
    # derived data, rebuilt from the receipts: no database constraint (none to check on 10 M rows at commit)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False,
                               db_constraint=False)
    day = models.DateField(_("day"))
    paid_cents = models.BigIntegerField(default=0)
    full_cents = models.BigIntegerField(default=0)  # the same receipts at full price (net of returns)
    receipts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("purchase day")
        verbose_name_plural = _("purchase days")
        indexes = [models.Index(fields=["day"], name="care_purchaseday_day")]


class BrandPurchaseDay(models.Model):
    """PurchaseDay per brand (issue 23): one row per member, brand and local day on which the member's receipts
    at the brand's stores, net of returns, are positive (a return counts against the day and store of the
    receipt it returns). The predictions are fitted per brand; kept up to date with PurchaseDay by
    care.purchase_days.refresh_purchase_days (the same touched (member, day) pairs are re-derived). A store moved
    to another brand takes effect with rebuild_purchase_days()."""

    pk = models.CompositePrimaryKey("member", "brand", "day")
    # derived data, rebuilt from the receipts: no database constraints
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False,
                               db_constraint=False)
    brand = models.ForeignKey("org.Brand", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                              db_constraint=False)
    day = models.DateField(_("day"))
    paid_cents = models.BigIntegerField(default=0)
    receipts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("purchase day at a brand")
        verbose_name_plural = _("purchase days at a brand")


class SeriesPurchaseDay(models.Model):
    """The series a member bought, per local day (issue 20: the audiences' "series bought" condition): one row
    per member, product series and local day (Asia/Shanghai) on which the member's sale lines of the series,
    net of their returns, leave a positive quantity (a return counts against the day of the receipt it returns,
    as in PurchaseDay). `quantity` is that net quantity, `paid_cents` what was paid for it net of returns.
    Kept up to date with PurchaseDay by care.purchase_days.refresh_purchase_days (the same touched (member,
    day) pairs are re-derived; its own cursor "series_days": missing, the next refresh builds it from every
    receipt). A product moved to another series takes effect with rebuild_purchase_days()."""

    pk = models.CompositePrimaryKey("member", "series", "day")
    # derived data, rebuilt from the receipts: no database constraints
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False,
                               db_constraint=False)
    series = models.ForeignKey("sales.Series", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                               db_constraint=False)
    day = models.DateField(_("day"))
    quantity = models.IntegerField(default=0)
    paid_cents = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("series purchase day")
        verbose_name_plural = _("series purchase days")
        # the audience count reads the series' days in a window, member ids only (an index-only scan)
        indexes = [models.Index(fields=["series", "day", "member"], name="care_seriesday_series_day")]


class BrandPurchaseSummary(models.Model):
    """Per member and brand, the aggregates of their BrandPurchaseDay rows (issue 23): the BG/NBD / Gamma-Gamma
    summary (prediction.summary) as of any day on or after the last receipt folded in is read from here alone.
    Re-derived by refresh_purchase_days for the members whose purchase days changed only."""

    pk = models.CompositePrimaryKey("member", "brand")
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False,
                               db_constraint=False)
    brand = models.ForeignKey("org.Brand", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                              db_constraint=False)
    days = models.IntegerField(default=0)  # purchase days
    first_day = models.DateField()
    last_day = models.DateField()
    paid_cents = models.BigIntegerField(default=0)  # over every purchase day
    first_cents = models.BigIntegerField(default=0)  # of the first purchase day

    class Meta:
        verbose_name = _("purchase summary at a brand")
        verbose_name_plural = _("purchase summaries at a brand")


class PurchaseStats(models.Model):
    """Per member, the figures the segments are ranked on, as of CareCursor "purchase_stats" (a day): kept
    up to date incrementally (only members with a new, changed or window-leaving purchase day are re-read).
    Windows as in care.segments; amounts in cents."""

    # related_name: the audiences' conditions join a member's row (Member.purchase_stats)
    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, primary_key=True,
                                  related_name="purchase_stats", db_constraint=False)
    first_day = models.DateField()
    last_day = models.DateField()
    days_12m = models.IntegerField(default=0)
    cents_12m = models.BigIntegerField(default=0)
    receipts_t = models.IntegerField(default=0)  # ticket window
    cents_t = models.BigIntegerField(default=0)
    days_recent = models.IntegerField(default=0)
    days_base = models.IntegerField(default=0)  # 12 months before the recent window
    full_12m = models.BigIntegerField(default=0)  # the 12 months' purchases at full price
    cents_recent = models.BigIntegerField(default=0)
    cents_base = models.BigIntegerField(default=0)
    rfm_last = models.DateField(null=True)
    rfm_days = models.IntegerField(default=0)
    rfm_cents = models.BigIntegerField(default=0)
    median_gap = models.IntegerField(null=True)


class CareCursor(models.Model):
    """How far a derived table has read its source, e.g. the last receipt id folded into PurchaseDay."""

    name = models.CharField(max_length=30, primary_key=True)
    value = models.BigIntegerField(default=0)
    key = models.CharField(max_length=100, blank=True, default="")  # e.g. the windows the stats were made with
    updated_at = models.DateTimeField()


class SegmentCuts(models.Model):
    """What the last classification of the daily segments was made with (care.segments): its day, the settings
    and windows (`key`), the highest member id then, and the cut-off rows of each ranking (`cuts`). The next day
    re-classifies only the members whose figures changed, whose dates crossed a threshold, who lie between an old
    and a new cut-off, who respond to marketing, or who are new; a change of settings classifies everyone."""

    name = models.CharField(max_length=30, primary_key=True)  # one row: "segments"
    day = models.DateField()
    key = models.CharField(max_length=64)
    max_member = models.BigIntegerField(default=0)
    cuts = models.JSONField(default=dict)


class ConsumableDay(models.Model):
    """The replenishment rule's input, kept up to date from the receipts (care.rules.incremental): one row per
    member and local day on which they bought a consumable (a line of a Product.is_consumable product with a
    positive quantity on a sale receipt; returns do not remove the day, as before). `product` is the largest
    consumable product id bought that day (the one a reminder names)."""

    pk = models.CompositePrimaryKey("member", "day")
    # derived data, rebuilt from the receipts: no database constraints
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False,
                               db_constraint=False)
    day = models.DateField(_("day"))
    product = models.ForeignKey("sales.Product", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                                db_constraint=False)

    class Meta:
        verbose_name = _("consumable purchase day")
        verbose_name_plural = _("consumable purchase days")
        indexes = [models.Index(fields=["day"], name="care_consday_day")]


class ConsumableCycle(models.Model):
    """Per member, their own replenishment cycle as of CareCursor "consumable_cycles" (value: the day as an
    ordinal; key: the settings it depends on): over the ConsumableDay rows of the history window, the last
    day, the number of gaps between consecutive days and their median (rounded), the predicted next day and
    the product of the last day. Only members with two or more days in the window have a row."""

    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, primary_key=True, related_name="+",
                                  db_constraint=False)
    last_day = models.DateField()
    gaps = models.IntegerField()
    cycle = models.IntegerField()
    next_on = models.DateField()
    product = models.ForeignKey("sales.Product", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                                db_constraint=False)

    class Meta:
        indexes = [models.Index(fields=["next_on"], name="care_conscycle_next")]


class ClerkVisits(models.Model):
    """How many sale receipts (returns excluded, as before) a clerk has made out to a member, ever: the
    learn-surname rule's counter, kept up to date from the receipts (care.rules.incremental)."""

    pk = models.CompositePrimaryKey("clerk", "member")
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                              db_index=False, db_constraint=False)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False,
                               db_constraint=False)
    visits = models.IntegerField(default=0)


class ClerkVisitSeen(models.Model):
    """The sale receipts ClerkVisits has counted among the last LOOKBACK ids below its cursor and the ones after it
    (care.rules.incremental): a later refresh adds only the receipts not seen yet, so a transaction that committed
    late is counted once, without counting every re-read pair again from all its receipts."""

    receipt_id = models.BigIntegerField(primary_key=True)


class OwnerPin(models.Model):
    """A manager fixed the member's relationship owner: the monthly re-derivation (care.owners) leaves the
    member alone while the pin stands."""

    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, primary_key=True,
                                  related_name="owner_pin")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("pinned by"))
    pinned_at = models.DateTimeField(_("pinned at"))

    class Meta:
        verbose_name = _("pinned relationship owner")
        verbose_name_plural = _("pinned relationship owners")


class OwnerChange(models.Model):
    """The member's relationship owner history: each change of Member.owner by care.owners (the monthly
    re-derivation, or a manager pinning an owner) and each pin and unpin, with who, when and why."""

    class Why(models.TextChoices):
        SERVED_MOST = "served_most", _("Served the member most")
        PINNED = "pinned", _("Pinned by a manager")
        UNPINNED = "unpinned", _("Pin removed")

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="owner_changes")
    old_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("previous owner"))
    new_owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("new owner"))
    at = models.DateTimeField(_("at"))
    why = models.CharField(_("why"), max_length=12, choices=Why.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", verbose_name=_("by"))  # None: the monthly job
    receipts = models.PositiveIntegerField(default=0)  # served_most: the new owner's receipts in the window
    window_days = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("relationship owner change")
        verbose_name_plural = _("relationship owner changes")
        indexes = [models.Index(fields=["member", "at"])]
