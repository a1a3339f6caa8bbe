"""URLs of the stored-value pages (included by web/urls.py)."""

from django.urls import path

from . import finance, views

urlpatterns = [
    path("members/<int:pk>/stored-value/top-up/", views.stored_value_top_up, name="stored_value_top_up"),
    path("stored-value/finance/", finance.stored_value_finance, name="stored_value_finance"),
    path("members/<int:pk>/stored-value/member-code/", views.stored_value_member_code,
         name="stored_value_member_code"),
]
