"""URLs of the gift-card pages (included by web/urls.py)."""

from django.urls import path

from . import views as v

urlpatterns = [
    path("gift-cards/batches/", v.gift_card_batches_page, name="gift_card_batches"),
    path("gift-cards/batches/new/", v.gift_card_batch_new_page, name="gift_card_batch_new"),
    path("gift-cards/batches/<int:pk>/", v.gift_card_batch_page, name="gift_card_batch"),
    path("gift-cards/batches/<int:pk>/export/", v.gift_card_batch_export, name="gift_card_batch_export"),
    path("gift-cards/sell/", v.gift_card_sell_page, name="gift_card_sell"),
    path("gift-cards/cards/<str:serial>/", v.gift_card_page, name="gift_card_detail"),
    path("gift-cards/cards/<str:serial>/void/", v.gift_card_void_page, name="gift_card_void"),
]
