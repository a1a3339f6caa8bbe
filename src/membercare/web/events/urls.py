"""URLs of the events pages (included by web/urls.py). /rsvp/ is public (web.middleware.PUBLIC_PREFIXES)."""

from django.urls import path

from . import views as v

urlpatterns = [
    path("events/", v.event_list_page, name="event_list"),
    path("events/new/", v.event_edit_page, name="event_new"),
    path("events/<int:pk>/", v.event_detail_page, name="event_detail"),
    path("events/<int:pk>/edit/", v.event_edit_page, name="event_edit"),
    path("events/<int:pk>/invite/", v.event_invite_page, name="event_invite"),
    path("events/<int:pk>/checkin/", v.checkin_page, name="event_checkin"),
    path("events/<int:pk>/checkin/find/", v.checkin_find_partial, name="event_checkin_find"),
    path("rsvp/<str:token>/", v.rsvp_page, name="event_rsvp"),
    path("members/<int:pk>/referral-code/", v.member_referral_code, name="member_referral_code"),
    path("members/<int:pk>/referred-by/", v.member_referred_by, name="member_referred_by"),
]
