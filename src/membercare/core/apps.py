from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "membercare.core"
    label = "core"

    def ready(self) -> None:
        from .metrics import register

        register()  # Prometheus: the queue length and the background tasks' runs
