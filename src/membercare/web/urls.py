"""The site's pages: login, then one URL module per business area (each area's routes and names as they were)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from .members.views import home

urlpatterns = [
    path("", home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("membercare.web.members.urls")),
    path("", include("membercare.web.cards.urls")),
    path("", include("membercare.web.birthday.urls")),
    path("", include("membercare.web.checkout.urls")),
    path("", include("membercare.web.storedvalue.urls")),
    path("", include("membercare.web.giftcards.urls")),
    path("", include("membercare.web.programme.urls")),
    path("", include("membercare.web.points.urls")),
    path("", include("membercare.web.sales_upload.urls")),
    path("", include("membercare.web.apikeys.urls")),
    path("", include("membercare.web.care.urls")),
    path("", include("membercare.web.messaging.urls")),
    path("", include("membercare.web.audiences.urls")),
    path("", include("membercare.web.service.urls")),
    path("", include("membercare.web.campaigns.urls")),
    path("", include("membercare.web.events.urls")),
    path("", include("membercare.web.jobs.urls")),
    path("", include("membercare.web.prediction.urls")),
    path("", include("membercare.web.analytics.urls")),
]
