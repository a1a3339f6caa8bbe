from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "membercare.audiences"
    label = "audiences"
    verbose_name = _("Audiences")

    def ready(self) -> None:
        from . import conditions  # noqa: F401  (the built-in conditions register themselves)
