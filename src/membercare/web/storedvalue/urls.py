"""URLs of the stored-value pages (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("members/<int:pk>/stored-value/top-up/", views.stored_value_top_up, name="stored_value_top_up"),
    path("members/<int:pk>/stored-value/member-code/", views.stored_value_member_code,
         name="stored_value_member_code"),
]
