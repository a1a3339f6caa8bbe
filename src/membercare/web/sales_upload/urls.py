"""URLs of the sales_upload pages (included by web/urls.py): offline stores' upload."""

from django.urls import path

from . import views

urlpatterns = [
    path("sales/upload/", views.sales_upload_page, name="sales_upload"),
    path("sales/upload/<int:pk>/", views.sales_upload_preview, name="sales_upload_preview"),
]
