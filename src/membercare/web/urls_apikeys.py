"""URLs of the apikeys pages (included by web/urls.py)."""

urlpatterns: list = []
