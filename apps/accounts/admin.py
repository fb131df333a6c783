from django.contrib import admin

from apps.accounts.models import Membership


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that change only through services (audit events, releases): the admin may look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
