"""URLs of the cards pages (included by web/urls.py)."""

from django.urls import path

from . import views_birthday_exceptions as bday
from . import views_cards

urlpatterns = [
    path("cards/apply/", views_cards.apply_page, name="card_apply"),
    path("cards/applications/", views_cards.applications_page, name="card_applications"),
    path("cards/applications/<int:pk>/approve/", views_cards.application_approve_view, name="card_approve"),
    path("cards/applications/<int:pk>/reject/", views_cards.application_reject_view, name="card_reject"),
    path("cards/applications/<int:pk>/activate/", views_cards.application_activate_view, name="card_activate"),
    path("cards/member/<int:pk>/", views_cards.member_cards_page, name="card_member"),
    path("cards/<int:pk>/lost/", views_cards.report_lost_page, name="card_report_lost"),
    path("members/<int:pk>/birthday-exception/", bday.exception_request_page, name="birthday_exception_new"),
    path("birthday-exceptions/", bday.exception_queue_page, name="birthday_exceptions"),
    path("birthday-exceptions/<int:pk>/<str:decision>/", bday.exception_decide_view, name="birthday_exception_decide"),
]
