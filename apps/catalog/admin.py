from django.contrib import admin

from apps.catalog.models import ImportBatch, Language, Project, Recording, Speaker, SpeakerIdentity


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
    list_display = ["id", "original_name", "project", "speaker", "language", "duration", "sample_rate", "channels", "status"]
    list_filter = ["project", "status", "container", "language"]
    search_fields = ["original_name", "sha256"]
    list_select_related = ["project", "speaker", "language"]
    # Who speaks is consent's business: read-only here; apps/consent/admin.py re-registers this admin so a
    # change goes through consent's recording_speaker_change (consent re-checked, withdrawals bind, audited).
    readonly_fields = ["speaker", "original_key", "sha256", "container", "codec", "sample_rate", "channels", "frames",
                       "duration", "bytes", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False  # recordings enter through ingest only (upload page, API, import_audio)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "source", "status", "total", "accepted", "duplicates", "rejected", "created_at"]
    list_filter = ["status", "source"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]
