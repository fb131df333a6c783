"""Releases in the admin: read-only (a release never changes; builds and rebuilds go through services)."""

from django.contrib import admin

from apps.datasets.models import DatasetRelease


@admin.register(DatasetRelease)
class DatasetReleaseAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "version", "name", "purpose", "status", "progress", "needs_rebuild", "created_at"]
    list_filter = ["status", "needs_rebuild", "purpose"]
    search_fields = ["name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
