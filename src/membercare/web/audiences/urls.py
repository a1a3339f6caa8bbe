"""URLs of the audience builder (included by web/urls.py)."""

from django.urls import path

from . import views as v

urlpatterns = [
    path("audiences/", v.audience_list_page, name="audiences"),
    path("audiences/new/", v.audience_edit_page, name="audience_new"),
    path("audiences/<int:pk>/", v.audience_edit_page, name="audience_edit"),
    path("audiences/<int:pk>/delete/", v.audience_delete, name="audience_delete"),
    path("audiences/count/", v.audience_count_partial, name="audience_count"),
]
