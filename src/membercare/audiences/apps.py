from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "membercare.audiences"
    label = "audiences"
    verbose_name = _("Audiences")

    def ready(self) -> None:
        from membercare.care.festivals import AudienceResolver, register_audience_resolver

        from . import conditions  # noqa: F401  (the built-in conditions register themselves)
        from .selectors import care_audience_members, care_audience_name

        # care's rules (a festival's greeting) restricted to a saved audience resolve it through this hook
        register_audience_resolver(AudienceResolver(members=care_audience_members, name=care_audience_name))
