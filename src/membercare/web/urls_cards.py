"""URLs of the cards pages (included by web/urls.py)."""

urlpatterns: list = []
