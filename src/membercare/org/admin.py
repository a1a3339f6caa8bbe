from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Brand, Company, Region, Staff, Store


@admin.register(Staff)
class StaffAdmin(UserAdmin):
    list_display = ("username", "display_name", "role", "is_active")
    list_filter = ("role", "is_active", "stores")
    fieldsets = UserAdmin.fieldsets + ((None, {"fields": ("role", "display_name", "phone", "stores")}),)
    filter_horizontal = ("stores", "groups", "user_permissions")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "brand", "region", "networked", "self_operated", "is_active")
    list_filter = ("brand", "region", "networked", "self_operated")
    search_fields = ("code", "name")


admin.site.register(Company)
admin.site.register(Brand)
admin.site.register(Region)
