"""URLs of the points rules page (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("programme/points-events/", views.points_rules_page, name="points_rules"),
]
