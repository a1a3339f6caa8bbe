from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PredictionConfig(AppConfig):
    name = "membercare.prediction"
    label = "prediction"
    verbose_name = _("Member value prediction")
