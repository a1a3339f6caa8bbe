"""Saved audiences (目标人群) and the frozen member lists of the sends and coupon issues that used one.

An audience is a definition (audiences.definition: an include part and an exclude part, each an AND/OR group of
conditions) with a scope: a brand (None: every brand) and stores (none: the chain; a store manager's audiences
always name their stores). A snapshot is the member list an audience gave when a bulk send or a coupon issue
was made: later changes of the members' data or of the audience do not change who it went to.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Audience(models.Model):
    name = models.CharField(_("name"), max_length=100)
    brand = models.ForeignKey("org.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("brand"))
    stores = models.ManyToManyField("org.Store", blank=True, related_name="+", verbose_name=_("stores"))
    definition = models.JSONField(_("definition"), default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("changed by"))
    updated_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class AudienceSnapshot(models.Model):
    """The members an audience gave at one moment (a bulk send scheduled, a coupon issue made)."""

    audience = models.ForeignKey(Audience, null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshots")
    definition = models.JSONField(default=dict)  # the definition applied, the campaign's default exclusions in it
    campaign_kind = models.CharField(max_length=20, blank=True, default="")
    included = models.JSONField(default=list)  # default exclusions the specialist chose to include
    size = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]


class AudienceSnapshotMember(models.Model):
    """One member of a snapshot. A plain member id (no foreign key): an erased member's row stays anonymised
    and Member.objects leaves it out wherever the snapshot is read, so there is no personal data here."""

    pk = models.CompositePrimaryKey("snapshot", "member_id")
    snapshot = models.ForeignKey(AudienceSnapshot, on_delete=models.CASCADE, related_name="+", db_index=False)
    member_id = models.BigIntegerField()
