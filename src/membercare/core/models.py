from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NumberSequence(models.Model):
    """Gap-tolerant number blocks (member numbers, receipt numbers) that are safe under concurrency."""

    name = models.CharField(max_length=30, primary_key=True)
    last = models.BigIntegerField(default=0)


class Job(models.Model):
    """A piece of long work run in the background queue, with progress a page can poll (see core/jobs.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=60)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.BigIntegerField(_("done"), default=0)
    total = models.BigIntegerField(_("total"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True, default="")
    function = models.CharField(max_length=200, default="")  # dotted path of the callable run
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("started by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["kind", "-created_at"], name="core_job_kind_created")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.status == self.Status.DONE else None
        return max(0, min(100, int(self.done * 100 / self.total)))


class VersionedSettings(models.Model):
    """A version of a settings document. Subclasses declare the JSON field named by `document_field` and,
    when a version applies from a stated date rather than from being saved, the date field `effective_field`."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("changed by"))
    created_at = models.DateTimeField(_("changed at"))

    document_field: ClassVar[str] = "params"
    effective_field: ClassVar[str | None] = None

    class Meta:
        abstract = True
