"""URLs of the apikeys pages (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("settings/api-keys/", views.apikey_list_page, name="apikey_list"),
    path("settings/api-keys/new/", views.apikey_issue_page, name="apikey_issue"),
    path("settings/api-keys/<int:pk>/revoke/", views.apikey_revoke_page, name="apikey_revoke"),
]
