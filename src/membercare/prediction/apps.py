from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PredictionConfig(AppConfig):
    name = "membercare.prediction"
    label = "prediction"
    verbose_name = _("Member value prediction")

    def ready(self) -> None:
        from membercare.audiences.conditions import register_condition
        from membercare.care.rules import register_rule

        from .audience_condition import CONDITION
        from .care_rule import CODE, slipping_call

        register_rule(CODE, slipping_call)
        register_condition(CONDITION)
