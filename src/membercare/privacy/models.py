from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Erasure(models.Model):
    """One erasure of a member's personal data (PIPL), as evidence that it was done: who, when, why, what.

    The member row it points to is the anonymised one (no name, phone or any other personal data left), so this
    record holds no personal data either; `counts` says how many rows of each kind were erased or kept.
    """

    member = models.OneToOneField("members.Member", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("member"))
    member_no = models.CharField(_("member number"), max_length=20)
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("erased by"))
    erased_at = models.DateTimeField(_("erased at"))
    reason = models.CharField(_("reason"), max_length=200)
    points_forfeited = models.IntegerField(_("points forfeited"), default=0)
    counts = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")
        ordering = ["-erased_at", "-pk"]


class DataRequest(models.Model):
    """A member's own request (PIPL) for a copy of their data or for erasure, from the member centre: it waits in
    the administrators' queue, who act on the member's page (export, erasure) and close it."""

    class Kind(models.TextChoices):
        COPY = "copy", _("A copy of my data")
        ERASE = "erase", _("Erase my data")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("member"))
    kind = models.CharField(_("request"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(_("requested at"))
    source = models.CharField(_("how"), max_length=50, default="member_centre")
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("handled by"))
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")
        ordering = ["-requested_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["member", "kind"], condition=models.Q(status="pending"),
                                               name="one_pending_data_request_per_kind")]
