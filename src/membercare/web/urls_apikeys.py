"""URLs of the apikeys pages (included by web/urls.py)."""

from django.urls import path

from . import views_apikeys

urlpatterns = [
    path("settings/api-keys/", views_apikeys.apikey_list_page, name="apikey_list"),
    path("settings/api-keys/new/", views_apikeys.apikey_issue_page, name="apikey_issue"),
    path("settings/api-keys/<int:pk>/revoke/", views_apikeys.apikey_revoke_page, name="apikey_revoke"),
]
