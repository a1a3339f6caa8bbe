"""URLs of the care pages (included by web/urls.py)."""

from django.urls import path

from . import festivals, owners, reasons, segments, views

urlpatterns = [
    path("care/", views.care_tasks_page, name="care_tasks"),
    path("care/tasks/<int:pk>/contact/", views.care_task_contact, name="care_task_contact"),
    path("care/members/<int:pk>/contact/", views.member_contact_page, name="care_member_contact"),
    path("care/store/", views.care_store_page, name="care_store"),
    path("care/segments/", segments.care_segments_page, name="care_segments"),
    path("care/reasons/", reasons.care_reasons_page, name="care_reasons"),
    path("care/members/<int:pk>/owner/pin/", owners.care_owner_pin, name="care_owner_pin"),
    path("care/members/<int:pk>/owner/unpin/", owners.care_owner_unpin, name="care_owner_unpin"),
    path("care/store/reassign/", views.care_store_reassign, name="care_store_reassign"),
    path("care/store/leave/", views.care_store_leave, name="care_store_leave"),
    path("care/store/default/", views.care_store_default, name="care_store_default"),
    path("care/settings/", views.care_settings_page, name="care_settings"),
    path("care/settings/history/", views.care_settings_history_page, name="care_settings_history"),
    path("care/festivals/", festivals.care_festivals_page, name="care_festivals"),
    path("care/festivals/<int:pk>/", festivals.care_festival_edit_page, name="care_festival_edit"),
    path("care/events/", views.care_events_page, name="care_events"),
    path("care/events/<int:pk>/", views.care_event_edit_page, name="care_event_edit"),
]
