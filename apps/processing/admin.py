"""Read-mostly admin for recipes, jobs and artifacts; writes go through services (the actions)."""

from django.contrib import admin, messages

from apps.processing.models import Artifact, ProcessingJob, ProjectProcessing, Recipe
from apps.processing.services import job_fail


@admin.register(Recipe)
class RecipeAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "name", "spec_hash", "created_at"]
    list_filter = ["project"]
    readonly_fields = ["project", "spec", "spec_hash", "created_by", "created_at"]


@admin.register(ProjectProcessing)
class ProjectProcessingAdmin(admin.ModelAdmin):
    list_display = ["project", "active_recipe", "updated_at"]
    readonly_fields = ["project", "active_recipe", "updated_at"]


@admin.register(ProcessingJob)
class ProcessingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "project", "recording", "status", "stage", "percent", "attempts", "created_at"]
    list_filter = ["status", "kind", "project"]
    readonly_fields = [f.name for f in ProcessingJob._meta.fields]
    actions = ["mark_failed"]

    @admin.action(description="Mark selected active jobs failed")
    def mark_failed(self, request, queryset):
        n = sum(
            job_fail(job_id=j, error="Marked failed by an administrator.")
            for j in queryset.values_list("id", flat=True)
        )
        self.message_user(request, f"{n} job(s) marked failed.", messages.SUCCESS)


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "source_sha256", "recipe_hash", "bytes", "created_at"]
    list_filter = ["kind"]
    search_fields = ["source_sha256", "key"]
    readonly_fields = [f.name for f in Artifact._meta.fields]
