"""URLs of the prediction pages and of background-job progress (included by web/urls.py)."""

from django.urls import path

from . import views_jobs

urlpatterns: list = [
    path("jobs/<int:pk>/", views_jobs.job_status, name="job_status"),
]
