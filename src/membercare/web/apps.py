from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "membercare.web"
    label = "web"
