"""Read-mostly admin: the rules' versions (HQ adds one through storedvalue.rules.rules_update, which checks it),
the cards and their ledger (never edited here: every change is a service with its own entry)."""

from django.contrib import admin

from .models import StoredValueCard, StoredValueEntry, StoredValueRefund, StoredValueSettings


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StoredValueSettings)
class StoredValueSettingsAdmin(ReadOnly):
    list_display = ("created_at", "created_by")
    fields = ("params", "created_by", "created_at")


@admin.register(StoredValueCard)
class StoredValueCardAdmin(ReadOnly):
    list_display = ("number", "member", "scope", "status", "principal", "bonus", "expires_on")
    search_fields = ("number",)


@admin.register(StoredValueEntry)
class StoredValueEntryAdmin(ReadOnly):
    list_display = ("created_at", "card", "kind", "principal", "bonus", "receipt", "method", "store")


@admin.register(StoredValueRefund)
class StoredValueRefundAdmin(ReadOnly):
    list_display = ("requested_at", "card", "status", "principal_refunded", "bonus_forfeited", "decided_by")
