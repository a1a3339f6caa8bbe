"""URLs of the sales_upload pages (included by web/urls.py): offline stores' upload, birthday audit."""

from django.urls import path

from . import views_sales_upload

urlpatterns = [
    path("sales/upload/", views_sales_upload.sales_upload_page, name="sales_upload"),
    path("sales/upload/<int:pk>/", views_sales_upload.sales_upload_preview, name="sales_upload_preview"),
    path("loyalty/birthday-audit/", views_sales_upload.birthday_audit_page, name="birthday_audit"),
    path("loyalty/birthday-audit/export/", views_sales_upload.birthday_audit_export, name="birthday_audit_export"),
]
