"""The member centre's own sessions: a member signed in on their phone (issue 22).

Separate from staff sessions on purpose: a member is no Django user, their cookie (`mc_member`, path `/m/`)
opens only the member centre's pages, and signing out or an erasure ends it on the server (the cookie holds a
random key; the table keeps its hash)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MemberSession(models.Model):
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="+", db_index=False)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("signed in at"))
    last_seen_at = models.DateTimeField(_("last seen"))
    expires_at = models.DateTimeField(_("expires at"))
    ended_at = models.DateTimeField(_("signed out at"), null=True, blank=True)
    ip = models.CharField(max_length=45, blank=True, default="")
    user_agent = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("member centre session")
        verbose_name_plural = _("member centre sessions")
        indexes = [models.Index(fields=["member", "created_at"])]
