"""Admin: read-mostly; the one write (withdraw) goes through the service."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from apps.catalog.admin import RecordingAdmin
from apps.catalog.models import Recording
from apps.consent import services
from apps.consent.models import (
    AuditEvent,
    ConsentForm,
    ConsentRecord,
    ProjectConsentPolicy,
    RecordingPurge,
    SpeakerTombstone,
)
from apps.consent.services.speakers import (
    recording_speaker_change,
    recording_voice_bound,
)
from apps.core.admin import ReadOnlyAdmin
from apps.core.errors import DomainError


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "action", "object_type", "object_id", "project_id", "actor_kind", "actor_id"]
    list_filter = ["action", "object_type"]

    def get_actions(self, request):
        return {}  # not even the bulk delete action: the log is append-only


@admin.register(RecordingPurge)
class RecordingPurgeAdmin(ReadOnlyAdmin):
    list_display = ["recording_id", "reason", "due_at", "state", "steps_done", "attempts", "finished_at"]
    list_filter = ["state", "reason"]


@admin.register(SpeakerTombstone)
class SpeakerTombstoneAdmin(ReadOnlyAdmin):
    list_display = ["code", "purged_at", "recordings_purged", "consent_records"]


@admin.register(ConsentForm)
class ConsentFormAdmin(ReadOnlyAdmin):
    list_display = ["title", "version", "project", "sha256", "created_at"]


@admin.register(ProjectConsentPolicy)
class ProjectConsentPolicyAdmin(admin.ModelAdmin):
    list_display = ["project", "on_missing", "retention_days"]


@admin.action(description="Withdraw the selected consents (every purpose)…")
def withdraw_selected(modeladmin, request, queryset):
    """Asks first (a confirmation page naming each consent and when the data goes), then withdraws and says so."""
    if request.POST.get("post") != "yes":
        grace = float(settings.EARMARK_PURGE_GRACE_DAYS)
        return TemplateResponse(
            request,
            "admin/consent/withdraw_selected_confirm.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": "Withdraw these consents?",
                "opts": modeladmin.model._meta,
                "records": queryset.select_related("speaker"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "when": "on the next purge run" if grace <= 0 else f"after the grace period of {grace:g} day(s)",
            },
        )
    done = 0
    for record in queryset:
        try:
            services.consent_withdraw(consent_id=record.id, actor=request.user)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"consent {record.id}: {exc.message}", messages.WARNING)
    modeladmin.message_user(
        request, f"{done} consent(s) withdrawn; their data is excluded now and purged after the grace period."
    )


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ["id", "speaker", "status", "granted_at", "expires_at", "withdrawn_at", "withdrawn_via"]
    list_filter = ["status", "withdrawn_via"]
    actions = [withdraw_selected]


class RecordingConsentForm(forms.ModelForm):
    """Refuses, as a form error, a speaker change that a withdrawal forbids (the service checks again on save)."""

    def clean_speaker(self):
        speaker = self.cleaned_data.get("speaker")
        if self.instance.pk and speaker != self.instance.speaker:
            why = recording_voice_bound(recording=self.instance)
            if why:
                raise ValidationError(
                    f"This recording cannot be given another speaker: {why}. A withdrawal stays "
                    f"with the voice in the recording."
                )
        return speaker


admin.site.unregister(Recording)


@admin.register(Recording)
class RecordingConsentAdmin(RecordingAdmin):
    """The catalogue's recording admin, with the speaker editable only through recording_speaker_change."""

    form = RecordingConsentForm
    readonly_fields = [f for f in RecordingAdmin.readonly_fields if f != "speaker"]
    raw_id_fields = ["speaker"]

    def save_model(self, request, obj, form, change):
        if change and "speaker" in form.changed_data:
            new = obj.speaker_id
            obj.speaker_id = form.initial.get("speaker")  # the row keeps its speaker until the service says so
            super().save_model(request, obj, form, change)
            recording_speaker_change(recording_id=obj.pk, speaker_id=new, actor=request.user)
            obj.refresh_from_db()
            return
        super().save_model(request, obj, form, change)
