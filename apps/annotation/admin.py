"""Admin for label schemas and a read-mostly view of the queue and annotations.

Schema edits made here go through the same models the API service writes; annotation content is
read-only here (edits go through the versioned services so history is never bypassed).
"""

from django.contrib import admin

from apps.annotation.models import Annotation, AnnotationSettings, AnnotationVersion, Assignment, Label, RegionField


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "project", "hotkey", "color", "order"]
    list_filter = ["kind", "project"]
    search_fields = ["name"]


@admin.register(RegionField)
class RegionFieldAdmin(admin.ModelAdmin):
    list_display = ["name", "type", "project", "order"]
    list_filter = ["type", "project"]


@admin.register(AnnotationSettings)
class AnnotationSettingsAdmin(admin.ModelAdmin):
    list_display = ["project", "overlap", "lock_minutes", "clip_multi", "transcript"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "recording_id", "annotator", "status", "locked_until", "updated_at"]
    list_filter = ["status", "project"]
    readonly_fields = ["project", "recording", "annotator", "created_at", "updated_at", "finished_at"]


class AnnotationVersionInline(admin.TabularInline):
    model = AnnotationVersion
    fields = ["version", "kind", "status", "author", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "recording_id", "annotator", "status", "version", "updated_at"]
    list_filter = ["status", "project"]
    readonly_fields = [
        "project",
        "recording",
        "annotator",
        "status",
        "version",
        "clip_labels",
        "review_comment",
        "submitted_at",
        "updated_at",
    ]
    inlines = [AnnotationVersionInline]
