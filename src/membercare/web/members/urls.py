"""URLs of the members pages: the counter search, the list, a member's profile and form, import/export, staff."""

from django.urls import path

from . import import_export, privacy, views

urlpatterns = [
    path("members/", views.member_list_page, name="member_list"),
    path("members/search/", views.member_search_page, name="member_search"),
    path("members/new/", views.member_create_page, name="member_create"),
    path("members/<int:pk>/", views.member_detail_page, name="member_detail"),
    path("members/<int:pk>/edit/", views.member_edit_page, name="member_edit"),
    path("members/<int:pk>/dates/", views.member_date_add_page, name="member_date_add"),
    path("members/<int:pk>/perks/use/", views.member_perk_use_page, name="member_perk_use"),
    path("members/<int:pk>/points-upgrade/", views.member_points_upgrade_page, name="member_points_upgrade"),
    path("members/<int:pk>/perks/uses/<int:use_pk>/reverse/", views.member_perk_reverse_page,
         name="member_perk_reverse"),
    path("members/<int:pk>/dates/<int:date_pk>/remove/", views.member_date_remove_page, name="member_date_remove"),
    path("members/<int:pk>/reveal-id/", views.member_reveal_id, name="member_reveal_id"),
    path("members/<int:pk>/data.xlsx", privacy.member_data_download, name="member_data_download"),
    path("members/<int:pk>/erase/", privacy.member_erase_page, name="member_erase"),
    path("privacy/requests/", privacy.privacy_requests, name="privacy_requests"),
    path("members/import/", import_export.import_upload, name="member_import"),
    path("members/import/<int:pk>/", import_export.import_preview, name="member_import_preview"),
    path("members/export/", import_export.export_members, name="member_export"),
    path("staff/", views.staff_page, name="staff"),
]
