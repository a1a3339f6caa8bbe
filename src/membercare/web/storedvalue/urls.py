"""URLs of the stored-value pages (included by web/urls.py)."""

from django.urls import path

from . import finance, refunds, rules, views

urlpatterns = [
    path("members/<int:pk>/stored-value/top-up/", views.stored_value_top_up, name="stored_value_top_up"),
    path("stored-value/finance/", finance.stored_value_finance, name="stored_value_finance"),
    path("members/<int:pk>/stored-value/member-code/", views.stored_value_member_code,
         name="stored_value_member_code"),
    path("members/<int:pk>/stored-value/<int:card>/freeze/", views.stored_value_freeze, name="stored_value_freeze"),
    path("members/<int:pk>/stored-value/<int:card>/unfreeze/", views.stored_value_unfreeze,
         name="stored_value_unfreeze"),
    path("members/<int:pk>/stored-value/<int:card>/transfer/", views.stored_value_transfer,
         name="stored_value_transfer"),
    path("members/<int:pk>/stored-value/<int:card>/refund/", views.stored_value_refund_request,
         name="stored_value_refund_request"),
    path("stored-value/refunds/", refunds.refund_queue, name="stored_value_refunds"),
    path("stored-value/refunds/<int:pk>/decide/", refunds.refund_decide, name="stored_value_refund_decide"),
    path("stored-value/rules/", rules.rules_edit, name="stored_value_rules"),
]
