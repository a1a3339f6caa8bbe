"""URLs of the prediction pages (included by web/urls.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
