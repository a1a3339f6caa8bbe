"""URLs of the birthday pages (included by web/urls.py): privilege exceptions and the audit."""

from django.urls import path

from . import audit, views

urlpatterns = [
    path("members/<int:pk>/birthday-exception/", views.exception_request_page, name="birthday_exception_new"),
    path("birthday-exceptions/", views.exception_queue_page, name="birthday_exceptions"),
    path("birthday-exceptions/<int:pk>/<str:decision>/", views.exception_decide_view, name="birthday_exception_decide"),
    path("loyalty/birthday-audit/", audit.birthday_audit_page, name="birthday_audit"),
    path("loyalty/birthday-audit/export/", audit.birthday_audit_export, name="birthday_audit_export"),
]
