from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "membercare.audiences"
    label = "audiences"
    verbose_name = _("Audiences")

    def ready(self) -> None:
        from membercare.care.festivals import AudienceResolver, register_audience_resolver
        from membercare.members.exports import register_export_filter

        from . import conditions  # noqa: F401  (the built-in conditions register themselves)
        from .selectors import care_audience_members, care_audience_name, export_audience_members

        # care's rules (a festival's greeting) restricted to a saved audience resolve it through this hook
        register_audience_resolver(AudienceResolver(members=care_audience_members, name=care_audience_name))
        # the member export filtered by a saved audience
        register_export_filter("audience", export_audience_members)
