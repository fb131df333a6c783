from django.contrib import admin

from apps.catalog.models import ImportBatch, Language, Project, Recording, Speaker, SpeakerIdentity
from apps.core.units import duration_human


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ["tag", "name"]
    search_fields = ["tag", "name"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "target_sample_rate", "require_speaker", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["allowed_languages"]


class SpeakerIdentityInline(admin.StackedInline):
    """Direct identifiers: only superusers and project managers should hold change rights here."""

    model = SpeakerIdentity
    extra = 0


@admin.register(Speaker)
class SpeakerAdmin(admin.ModelAdmin):
    list_display = ["code", "project", "age_band", "gender", "accent"]
    list_filter = ["project", "age_band"]
    search_fields = ["code"]
    inlines = [SpeakerIdentityInline]
    filter_horizontal = ["native_languages"]


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ["id", "original_name", "project", "speaker", "language", "length", "sample_rate", "channels",
                    "status"]
    list_filter = ["project", "status", "container", "language"]
    search_fields = ["original_name", "sha256"]
    list_select_related = ["project", "speaker", "language"]
    readonly_fields = ["original_key", "sha256", "container", "codec", "sample_rate", "channels", "frames", "length",
                       "bytes", "created_by", "created_at"]
    exclude = ["duration"]
    raw_id_fields = ["speaker"]

    @admin.display(description="duration", ordering="duration")
    def length(self, obj):
        return duration_human(obj.duration)

    def has_add_permission(self, request):
        return False  # recordings enter through ingest only (upload page, API, import_audio)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "source", "status", "total", "accepted", "duplicates", "rejected", "created_at"]
    list_filter = ["status", "source"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]
