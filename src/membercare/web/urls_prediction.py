"""URLs of the prediction pages and of background-job progress (included by web/urls.py)."""

from django.urls import path

from . import views_jobs, views_prediction

urlpatterns: list = [
    path("jobs/<int:pk>/", views_jobs.job_status, name="job_status"),
    path("prediction/", views_prediction.prediction_page, name="prediction_page"),
    path("prediction/recompute/", views_prediction.prediction_recompute, name="prediction_recompute"),
]
