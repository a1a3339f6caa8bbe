"""URLs of the programme pages (included by web/urls.py)."""

urlpatterns: list = []
