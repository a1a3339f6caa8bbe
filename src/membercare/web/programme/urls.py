"""URLs of the programme pages (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("programme/", views.programme_edit_page, name="programme_edit"),
    path("programme/history/", views.programme_history_page, name="programme_history"),
]
