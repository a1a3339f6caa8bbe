"""Pre-aggregated facts behind the dashboards (filled by analytics.facts, the nightly task after the care job, and by
the `analytics_refresh` command for a first build). Derived data only: every row can be rebuilt from the
receipts, the points ledger, the members, the segments and the care tasks; no database constraints, so the
daily job never pays for foreign-key checks on them. Amounts in cents (integers), converted to Decimal
yuan by the selectors.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StoreDay(models.Model):
    """Per store and local day (Asia/Shanghai) of Receipt.sold_at: what was sold there.

    sales_cents: paid on sale receipts (original null); returns_cents: paid on return receipts (<= 0, on the
    day of the return); receipts: sale receipts. member_*: the same for receipts with a member; vip_*: for
    receipts on a card with privileges (tier not empty and not the accumulation card). new_members: members
    registered at the store that day (Member.created_at, home_store)."""

    pk = models.CompositePrimaryKey("store", "day")
    store = models.ForeignKey("org.Store", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                              db_constraint=False)
    day = models.DateField()
    sales_cents = models.BigIntegerField(default=0)
    returns_cents = models.BigIntegerField(default=0)
    receipts = models.IntegerField(default=0)
    member_sales_cents = models.BigIntegerField(default=0)
    member_returns_cents = models.BigIntegerField(default=0)
    member_receipts = models.IntegerField(default=0)
    vip_sales_cents = models.BigIntegerField(default=0)
    vip_returns_cents = models.BigIntegerField(default=0)
    new_members = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="analytics_storeday_day")]


class PointsDay(models.Model):
    """Per store, local day of PointsEntry.created_at and entry kind: the sum of the ledger's points. The
    store is the receipt's store for entries of a sale or return, else the member's registration store.
    Filled additively by entry id (the ledger is append-only); `AnalyticsCursor` keeps the ids not yet seen."""

    store = models.ForeignKey("org.Store", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                              db_constraint=False)
    day = models.DateField()
    kind = models.CharField(max_length=10)
    points = models.BigIntegerField(default=0)
    entries = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "day", "kind"], name="analytics_pointsday_once")]
        indexes = [models.Index(fields=["day"], name="analytics_pointsday_day")]


class SegmentDay(models.Model):
    """Snapshot on `day` of how many members registered at `store` are in each value of a dimension:
    the care segment fields (lifecycle, spend_class, pyramid, follow_up, the seven flags as "1"),
    "tier" (best active card: diamond > elite > knight > accumulation > none ""), "repurchase_12m"
    ("buyers": a purchase day in 12 months, "repeat": two or more) and "points" (value "balance": the
    members' outstanding points, in `members`)."""

    day = models.DateField()
    store = models.ForeignKey("org.Store", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                              db_constraint=False)
    dimension = models.CharField(max_length=30)
    value = models.CharField(max_length=30, blank=True, default="")
    members = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "dimension"], name="analytics_segday_day")]


class SegmentMove(models.Model):
    """Month-over-month migration: members registered at `store` who were in `from_value` of `dimension` on
    `from_day` (the first of a month; "" = not computed yet) and in `to_value` on `to_day` (the first of the
    next month)."""

    from_day = models.DateField()
    to_day = models.DateField()
    store = models.ForeignKey("org.Store", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                              db_constraint=False)
    dimension = models.CharField(max_length=30)
    from_value = models.CharField(max_length=30, blank=True, default="")
    to_value = models.CharField(max_length=30, blank=True, default="")
    members = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["dimension", "from_day"], name="analytics_segmove_month")]


class Cohort(models.Model):
    """Cohort retention by month of first purchase (care_purchaseday), per registration store: `members` of
    the cohort `cohort` (first of the month) with a purchase day in the month `offset` months later (offset
    0 = the cohort's size). Computed for complete months only, as of `as_of` (the first of the month)."""

    as_of = models.DateField()
    store = models.ForeignKey("org.Store", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                              db_constraint=False)
    cohort = models.DateField()
    offset = models.SmallIntegerField()
    members = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["as_of", "cohort"], name="analytics_cohort_asof")]


class TaskDay(models.Model):
    """Care tasks per store, assignee and due day: due (not cancelled), done on time (done on or before the
    due day, local), done late, and still open. (The pages count tasks live, analytics.measures.tasks_by_clerk,
    so that a task done a minute ago counts everywhere; this table is kept for bulk reads.)"""

    store = models.ForeignKey("org.Store", on_delete=models.DO_NOTHING, related_name="+", db_index=False,
                              db_constraint=False)
    assignee = models.ForeignKey("org.Staff", null=True, on_delete=models.DO_NOTHING, related_name="+",
                                 db_index=False, db_constraint=False)
    due_on = models.DateField()
    due = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)
    late = models.IntegerField(default=0)
    open = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["due_on"], name="analytics_taskday_due")]


class CampaignFact(models.Model):
    """A campaign's results as of the last nightly run (campaigns.selectors.campaign_results, chain-wide):
    coupon batches, VIP events and bulk sends running or ended within CAMPAIGN_DAYS. The dashboard's tile reads
    these; the campaign results page computes them live."""

    kind = models.CharField(max_length=10)  # coupon, event, bulk
    object_id = models.BigIntegerField()
    name = models.CharField(max_length=100)
    brand_id = models.BigIntegerField(null=True)  # coupon batches and brand-wide events
    store_ids = models.JSONField(default=list)  # events held at these stores
    window_start = models.DateField()
    window_end = models.DateField()
    result = models.JSONField(default=dict)  # reached, responded, group_size, sales, holdout_size, … (money as text)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id"], name="analytics_campaign_once")]


class AnalyticsCursor(models.Model):
    """How far a fact table has read its source: the last id folded, and ids below it not seen yet
    (`holes`: rows of transactions still open at the last run, or rolled back) for additive tables."""

    name = models.CharField(max_length=30, primary_key=True)
    value = models.BigIntegerField(default=0)
    holes = models.JSONField(default=list)
    key = models.CharField(max_length=100, blank=True, default="")
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("analytics cursor")
        verbose_name_plural = _("analytics cursors")
