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
