"""URLs of the service pages (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("service/complaints/", views.complaint_list_page, name="service_complaints"),
    path("service/complaints/new/", views.complaint_new_page, name="service_complaint_new"),
    path("service/complaints/report/", views.complaint_report_page, name="service_complaint_report"),
    path("service/complaints/<int:pk>/", views.complaint_detail_page, name="service_complaint"),
    path("service/complaints/<int:pk>/owner/", views.complaint_assign_view, name="service_complaint_assign"),
    path("service/orders/", views.order_list_page, name="service_orders"),
    path("service/orders/new/", views.order_new_page, name="service_order_new"),
    path("service/orders/<int:pk>/", views.order_detail_page, name="service_order"),
    path("service/member-pick/", views.member_pick, name="service_member_pick"),
    path("service/gifts/", views.gift_stock_page, name="service_gift_stock"),
    path("service/gifts/give/", views.gift_issue_page, name="service_gift_issue"),
    path("service/mall/", views.mall_counter_page, name="service_mall"),
    path("service/surveys/", views.survey_results_page, name="service_survey_results"),
    # the public survey link (no login: web.middleware.PUBLIC_PREFIXES)
    path("s/<str:token>/", views.survey_public, name="survey_public"),
]
