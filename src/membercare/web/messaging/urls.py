"""URLs of the messaging pages (included by web/urls.py)."""

from django.urls import path

from . import bulk
from . import settings as vs
from . import views as v

urlpatterns = [
    path("messaging/templates/", v.template_list_page, name="messaging_templates"),
    path("messaging/templates/new/", v.template_edit_page, name="messaging_template_new"),
    path("messaging/templates/<int:pk>/", v.template_edit_page, name="messaging_template_edit"),
    path("messaging/templates/preview/", v.template_preview_partial, name="messaging_template_preview"),
    path("messaging/bulk/", bulk.bulk_list_page, name="messaging_bulk_list"),
    path("messaging/bulk/new/", bulk.bulk_new_page, name="messaging_bulk_new"),
    path("messaging/bulk/<int:pk>/", bulk.bulk_page, name="messaging_bulk"),
    path("messaging/bulk/<int:pk>/progress/", bulk.bulk_progress_partial, name="messaging_bulk_progress"),
    path("messaging/bulk/<int:pk>/cancel/", bulk.bulk_cancel, name="messaging_bulk_cancel"),
    path("messaging/bulk/<int:pk>/send-now/", bulk.bulk_send_now, name="messaging_bulk_send_now"),
    path("messaging/outbox/", v.outbox_page, name="messaging_outbox"),
    path("messaging/settings/", vs.messaging_settings_page, name="messaging_settings"),
    path("messaging/settings/test/", vs.messaging_settings_test_partial, name="messaging_settings_test"),
    path("messaging/settings/history/", vs.messaging_settings_history_page, name="messaging_settings_history"),
    path("care/tasks/<int:pk>/message/", v.care_task_message, name="care_task_message"),
    path("care/tasks/send/<slug:rule>/", v.care_task_group_send, name="care_task_group_send"),
    path("members/<int:pk>/opt-out/", v.member_opt_out, name="member_opt_out"),
    path("members/<int:pk>/message/", v.member_message_page, name="member_message"),
]
