"""URLs of the checkout pages (included by web/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("checkout/", views.checkout_page, name="checkout"),
    path("checkout/quote/", views.checkout_quote, name="checkout_quote"),
    path("checkout/member-code/", views.checkout_member_code_send, name="checkout_member_code_send"),
    path("checkout/products/", views.checkout_products, name="checkout_products"),
    path("checkout/receipts/", views.checkout_find_receipt, name="checkout_find_receipt"),
    path("checkout/receipts/<int:pk>/", views.checkout_receipt, name="checkout_receipt"),
    path("checkout/receipts/<int:pk>/return/", views.checkout_return, name="checkout_return"),
]
