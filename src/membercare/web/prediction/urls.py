"""URLs of the prediction pages (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns: list = [
    path("prediction/", views.prediction_page, name="prediction_page"),
    path("prediction/invite/", views.prediction_invite, name="prediction_invite"),
    path("prediction/recompute/", views.prediction_recompute, name="prediction_recompute"),
]
