from django.contrib import admin

from .models import Gift, ServiceSettings


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(admin.ModelAdmin):
    list_display = ("created_at", "created_by")
    fields = ("params", "created_by", "created_at")  # as declared before the fields moved to core's base


@admin.register(Gift)
class GiftAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "value", "points_cost", "is_active")
