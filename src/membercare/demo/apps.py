from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "membercare.demo"
    label = "demo"
