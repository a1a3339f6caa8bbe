"""URLs of the programme pages (included by web/urls.py)."""

from django.urls import path

from . import views_programme

urlpatterns = [
    path("programme/", views_programme.programme_edit_page, name="programme_edit"),
    path("programme/history/", views_programme.programme_history_page, name="programme_history"),
]
