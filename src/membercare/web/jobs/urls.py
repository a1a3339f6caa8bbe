"""URLs of background-job progress (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns: list = [
    path("jobs/<int:pk>/", views.job_status, name="job_status"),
    path("jobs/<int:pk>/restart/", views.job_restart_view, name="job_restart"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
]
