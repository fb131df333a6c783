"""Releases in the admin: read-only (a release never changes; builds and rebuilds go through services)."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.datasets.models import DatasetRelease


@admin.register(DatasetRelease)
class DatasetReleaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "project", "version", "name", "purpose", "status", "progress", "needs_rebuild", "created_at"]
    list_filter = ["status", "needs_rebuild", "purpose"]
    search_fields = ["name"]
