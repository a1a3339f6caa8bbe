"""URLs of the analytics pages (included by web/urls.py)."""

from django.urls import path

from . import views_analytics

urlpatterns: list = [
    path("analytics/", views_analytics.dashboard, name="dashboard"),
    path("analytics/export/", views_analytics.dashboard_export, name="analytics_export"),
    path("analytics/migration/", views_analytics.migration, name="analytics_migration"),
    path("analytics/reports/store/", views_analytics.store_report, name="analytics_store_report"),
    path("analytics/reports/vip/", views_analytics.vip_list, name="analytics_vip_list"),
    path("analytics/reports/birthday-audit/", views_analytics.birthday_audit_print, name="analytics_birthday_print"),
    path("analytics/exports/<int:pk>/", views_analytics.export_download, name="analytics_export_download"),
    path("analytics/members/<int:pk>/statement/", views_analytics.member_statement_page,
         name="analytics_member_statement"),
]
