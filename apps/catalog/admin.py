from django import forms
from django.contrib import admin

from apps.catalog.models import ImportBatch, ImportSource, Language, Project, Recording, Speaker, SpeakerIdentity
from apps.catalog.services import import_source_validate
from apps.core.errors import DomainError
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
    list_display = [
        "id",
        "original_name",
        "project",
        "speaker",
        "language",
        "length",
        "sample_rate",
        "channels",
        "status",
    ]
    list_filter = ["project", "status", "container", "language"]
    search_fields = ["original_name", "sha256"]
    list_select_related = ["project", "speaker", "language"]
    # Who speaks is consent's business: read-only here; apps/consent/admin.py re-registers this admin so a
    # change goes through consent's recording_speaker_change (consent re-checked, withdrawals bind, audited).
    readonly_fields = [
        "speaker",
        "original_key",
        "sha256",
        "container",
        "codec",
        "sample_rate",
        "channels",
        "frames",
        "length",
        "bytes",
        "created_by",
        "created_at",
    ]
    exclude = ["duration"]

    @admin.display(description="duration", ordering="duration")
    def length(self, obj):
        return duration_human(obj.duration)

    def has_add_permission(self, request):
        return False  # recordings enter through ingest only (upload page, API, import_audio)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "source",
        "status",
        "total",
        "accepted",
        "quarantined",
        "duplicates",
        "rejected",
        "created_at",
    ]
    list_filter = ["status", "source"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]


class ImportSourceForm(forms.ModelForm):
    """The admin form runs the same checks as the service (never the platform's bucket, no overlaps)."""

    secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=True))

    class Meta:
        model = ImportSource
        fields = [
            "name",
            "kind",
            "bucket",
            "prefix",
            "endpoint_url",
            "region_name",
            "access_key_id",
            "secret_access_key",
            "path",
            "projects",
            "enabled",
        ]

    def clean(self):
        data = super().clean()
        probe = ImportSource(
            pk=self.instance.pk, **{k: v for k, v in data.items() if k != "projects" and v is not None}
        )
        try:
            import_source_validate(probe)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        for key in ("bucket", "prefix", "path"):
            data[key] = getattr(probe, key)
        return data


@admin.register(ImportSource)
class ImportSourceAdmin(admin.ModelAdmin):
    form = ImportSourceForm
    list_display = ["name", "kind", "address", "enabled", "created_at"]
    list_filter = ["kind", "enabled"]
    filter_horizontal = ["projects"]
    search_fields = ["name", "bucket", "path"]
