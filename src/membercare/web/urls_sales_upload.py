"""URLs of the sales_upload pages (included by web/urls.py)."""

urlpatterns: list = []
