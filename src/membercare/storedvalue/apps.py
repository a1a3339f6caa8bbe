from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoredValueConfig(AppConfig):
    name = "membercare.storedvalue"
    label = "storedvalue"
    verbose_name = _("Stored value")

    def ready(self) -> None:
        from .sale import register_providers

        register_providers()  # stored value as a tender of the sale pipeline
