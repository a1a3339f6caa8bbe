"""URLs of the checkout pages (included by web/urls.py)."""

urlpatterns: list = []
