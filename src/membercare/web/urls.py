from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views, views_io

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("members/", views.member_list_page, name="member_list"),
    path("members/search/", views.member_search_page, name="member_search"),
    path("members/new/", views.member_create_page, name="member_create"),
    path("members/<int:pk>/", views.member_detail_page, name="member_detail"),
    path("members/<int:pk>/edit/", views.member_edit_page, name="member_edit"),
    path("members/<int:pk>/reveal-id/", views.member_reveal_id, name="member_reveal_id"),
    path("members/import/", views_io.import_upload, name="member_import"),
    path("members/import/<int:pk>/", views_io.import_preview, name="member_import_preview"),
    path("members/export/", views_io.export_members, name="member_export"),
    path("staff/", views.staff_page, name="staff"),
    path("", include("membercare.web.urls_cards")),
    path("", include("membercare.web.urls_checkout")),
    path("", include("membercare.web.urls_programme")),
    path("", include("membercare.web.urls_sales_upload")),
    path("", include("membercare.web.urls_apikeys")),
    path("", include("membercare.web.urls_care")),
    path("", include("membercare.web.urls_messaging")),
    path("", include("membercare.web.urls_service")),
    path("", include("membercare.web.urls_campaigns")),
    path("", include("membercare.web.urls_events")),
    path("", include("membercare.web.urls_prediction")),
    path("", include("membercare.web.urls_analytics")),
]
