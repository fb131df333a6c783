"""Shapes only: input checks and output fields. No writes here."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalog.models import AgeBand, Speaker
from apps.consent.models import AuditEvent, ConsentForm, ConsentRecord, OnMissing, ProjectConsentPolicy
from apps.consent.purposes import Purpose, mask_to_purposes

PURPOSES = serializers.ListField(child=serializers.ChoiceField(choices=Purpose.choices), allow_empty=False)


class IdentityIO(serializers.Serializer):
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class SpeakerInput(serializers.Serializer):
    project = serializers.IntegerField()
    code = serializers.CharField(max_length=64)
    age_band = serializers.ChoiceField(choices=AgeBand.choices, required=False, default="")
    gender = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    accent = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    identity = IdentityIO(required=False)


class SpeakerOutput(serializers.ModelSerializer):
    class Meta:
        model = Speaker
        fields = ["id", "project", "code", "age_band", "gender", "accent", "created_at"]


class SpeakerManagerOutput(SpeakerOutput):
    """Managers also see direct identifiers."""

    identity = serializers.SerializerMethodField()

    class Meta(SpeakerOutput.Meta):
        fields = SpeakerOutput.Meta.fields + ["identity"]

    @extend_schema_field(IdentityIO(allow_null=True))
    def get_identity(self, speaker):
        identity = getattr(speaker, "identity", None)
        return IdentityIO(identity).data if identity else None


class SpeakerDetailOutput(SpeakerOutput):
    """The schema of one speaker: ``identity`` (direct identifiers) is present only for the project's managers."""

    identity = IdentityIO(allow_null=True, required=False, help_text="Present only for the project's managers.")

    class Meta(SpeakerOutput.Meta):
        fields = SpeakerOutput.Meta.fields + ["identity"]


class ConsentInput(serializers.Serializer):
    purposes = PURPOSES
    form = serializers.IntegerField(required=False, allow_null=True)
    granted_at = serializers.DateTimeField(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    evidence = serializers.FileField(required=False, allow_null=True)


class ConsentOutput(serializers.ModelSerializer):
    purposes = serializers.ListField(read_only=True)
    withdrawn_purposes = serializers.ListField(read_only=True)
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "speaker",
            "form",
            "purposes",
            "granted_at",
            "expires_at",
            "collected_by",
            "status",
            "withdrawn_purposes",
            "withdrawn_at",
            "withdrawn_via",
            "evidence",
            "created_at",
        ]

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {"sha256": {"type": "string"}, "content_type": {"type": "string"}},
        }
    )
    def get_evidence(self, record):
        return (
            {"sha256": record.evidence_sha256, "content_type": record.evidence_content_type}
            if record.evidence_key
            else None
        )


class WithdrawInput(serializers.Serializer):
    purposes = serializers.ListField(child=serializers.ChoiceField(choices=Purpose.choices), required=False)
    recording_ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class WithdrawEverythingInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class WithdrawEverythingOutput(serializers.Serializer):
    consent_ids = serializers.ListField(child=serializers.IntegerField())
    assignments_cancelled = serializers.IntegerField()
    releases_flagged = serializers.IntegerField()
    purges_scheduled = serializers.IntegerField()
    purges_brought_forward = serializers.IntegerField()
    purge_due_at = serializers.DateTimeField(allow_null=True)


class PurgeRunOutput(serializers.Serializer):
    recordings = serializers.IntegerField(help_text="Recordings purged now.")
    speakers = serializers.IntegerField(help_text="Speakers whose identity was wiped now (tombstone kept).")
    still_pending = serializers.IntegerField(help_text="Purges that wait for their due date.")


class ConsentFormInput(serializers.Serializer):
    project = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    text = serializers.CharField()
    purposes = PURPOSES
    language = serializers.CharField(required=False, allow_blank=True, default="", max_length=35)


class ConsentFormOutput(serializers.ModelSerializer):
    purposes = serializers.ListField(read_only=True)
    language = serializers.CharField(source="language.tag", default=None, read_only=True)

    class Meta:
        model = ConsentForm
        fields = ["id", "project", "title", "version", "text", "sha256", "language", "purposes", "created_at"]


MASKS = ["ingest", "store", "annotate", "review", "train_models", "public_release", "commercial"]


def _purposes_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=Purpose.choices), required=False, allow_empty=False
    )


class PolicyIO(serializers.Serializer):
    """A project's consent policy: for each use (MASKS), the purposes a speaker must have granted."""

    on_missing = serializers.ChoiceField(choices=OnMissing.choices, required=False)
    retention_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    ingest_purposes = _purposes_field()
    store_purposes = _purposes_field()
    annotate_purposes = _purposes_field()
    review_purposes = _purposes_field()
    train_models_purposes = _purposes_field()
    public_release_purposes = _purposes_field()
    commercial_purposes = _purposes_field()

    def to_representation(self, policy: ProjectConsentPolicy):
        return {
            "project": policy.project_id,
            "on_missing": policy.on_missing,
            "retention_days": policy.retention_days,
            **{f"{name}_purposes": mask_to_purposes(getattr(policy, f"{name}_mask")) for name in MASKS},
        }


class AuditOutput(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor_id",
            "actor_kind",
            "action",
            "object_type",
            "object_id",
            "project_id",
            "data",
        ]
