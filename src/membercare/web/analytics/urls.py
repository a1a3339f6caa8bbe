"""URLs of the analytics pages (included by web/urls.py)."""

from django.urls import path

from ..jobs.views import job_download
from . import views

urlpatterns: list = [
    path("analytics/", views.dashboard, name="dashboard"),
    path("analytics/export/", views.dashboard_export, name="analytics_export"),
    path("analytics/migration/", views.migration, name="analytics_migration"),
    path("analytics/reports/store/", views.store_report, name="analytics_store_report"),
    path("analytics/reports/vip/", views.vip_list, name="analytics_vip_list"),
    path("analytics/reports/birthday-audit/", views.birthday_audit_print, name="analytics_birthday_print"),
    path("analytics/exports/<int:pk>/", job_download, name="analytics_export_download"),  # links already sent
    path("analytics/members/<int:pk>/statement/", views.member_statement_page,
         name="analytics_member_statement"),
]
