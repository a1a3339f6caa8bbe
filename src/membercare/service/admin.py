from django.contrib import admin

from .models import Gift, ServiceSettings


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(admin.ModelAdmin):
    list_display = ("created_at", "created_by")


@admin.register(Gift)
class GiftAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "value", "points_cost", "is_active")
