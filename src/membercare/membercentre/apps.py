from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MemberCentreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "membercare.membercentre"
    label = "membercentre"
    verbose_name = _("Member centre")
