from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "membercare.api"
    label = "api"
