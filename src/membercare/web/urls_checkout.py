"""URLs of the checkout pages (included by web/urls.py)."""

from django.urls import path

from . import views_checkout

urlpatterns = [
    path("checkout/", views_checkout.checkout_page, name="checkout"),
    path("checkout/quote/", views_checkout.checkout_quote, name="checkout_quote"),
    path("checkout/receipts/", views_checkout.checkout_find_receipt, name="checkout_find_receipt"),
    path("checkout/receipts/<int:pk>/", views_checkout.checkout_receipt, name="checkout_receipt"),
    path("checkout/receipts/<int:pk>/return/", views_checkout.checkout_return, name="checkout_return"),
]
