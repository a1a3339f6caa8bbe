"""URLs of the service pages (included by web/urls.py)."""

from django.urls import path

from . import views_service

urlpatterns = [
    path("service/complaints/", views_service.complaint_list_page, name="service_complaints"),
    path("service/complaints/new/", views_service.complaint_new_page, name="service_complaint_new"),
    path("service/complaints/report/", views_service.complaint_report_page, name="service_complaint_report"),
    path("service/complaints/<int:pk>/", views_service.complaint_detail_page, name="service_complaint"),
    path("service/complaints/<int:pk>/owner/", views_service.complaint_assign_view, name="service_complaint_assign"),
    path("service/member-pick/", views_service.member_pick, name="service_member_pick"),
    path("service/gifts/", views_service.gift_stock_page, name="service_gift_stock"),
    path("service/gifts/give/", views_service.gift_issue_page, name="service_gift_issue"),
    path("service/surveys/", views_service.survey_results_page, name="service_survey_results"),
    # the public survey link (no login: web.middleware.PUBLIC_PREFIXES)
    path("s/<str:token>/", views_service.survey_public, name="survey_public"),
]
