"""URLs of the cards pages (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("cards/apply/", views.apply_page, name="card_apply"),
    path("cards/applications/", views.applications_page, name="card_applications"),
    path("cards/applications/<int:pk>/approve/", views.application_approve_view, name="card_approve"),
    path("cards/applications/<int:pk>/reject/", views.application_reject_view, name="card_reject"),
    path("cards/applications/<int:pk>/activate/", views.application_activate_view, name="card_activate"),
    path("cards/member/<int:pk>/", views.member_cards_page, name="card_member"),
    path("cards/<int:pk>/lost/", views.report_lost_page, name="card_report_lost"),
]
