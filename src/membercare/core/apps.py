from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "membercare.core"
    label = "core"
