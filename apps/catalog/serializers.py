from rest_framework import serializers

from apps.catalog.models import ImportBatch, ImportSource, ImportSourceKind, Project, Recording
from apps.core.hooks import RECORDING_PROCESSING, hook_one


class ProjectOutput(serializers.ModelSerializer):
    allowed_languages = serializers.SlugRelatedField(many=True, read_only=True, slug_field="tag")

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "target_sample_rate",
            "allowed_languages",
            "require_speaker",
            "label_settings",
            "created_at",
        ]


class ProjectInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    target_sample_rate = serializers.IntegerField(min_value=8000, max_value=192000, required=False, default=16000)
    require_speaker = serializers.BooleanField(required=False, default=False)


class RecordingOutput(serializers.ModelSerializer):
    speaker = serializers.CharField(source="speaker.code", default=None, read_only=True, allow_null=True)
    language = serializers.CharField(source="language.tag", default=None, read_only=True, allow_null=True)
    processing = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            "id",
            "project",
            "original_name",
            "speaker",
            "language",
            "sha256",
            "container",
            "codec",
            "sample_rate",
            "input_sample_rate",
            "channels",
            "frames",
            "duration",
            "bytes",
            "status",
            "metadata",
            "created_at",
            "processing",
        ]

    def get_processing(self, recording) -> dict:
        return hook_one(RECORDING_PROCESSING, recording=recording)

    def to_representation(self, recording) -> dict:
        # Built directly (the recordings list renders up to a page of 100 per request, and DRF's per-field
        # machinery was a third of its CPU); the fields declared above stay the schema of exactly this dict, as
        # ModelSerializer would render it (tests/catalog/test_recording_output.py holds the two equal).
        speaker, language = recording.speaker_id, recording.language_id
        return {
            "id": recording.id,
            "project": recording.project_id,
            "original_name": recording.original_name,
            "speaker": None if speaker is None else recording.speaker.code,
            "language": None if language is None else recording.language.tag,
            "sha256": recording.sha256,
            "container": recording.container,
            "codec": recording.codec,
            "sample_rate": recording.sample_rate,
            "input_sample_rate": recording.input_sample_rate,
            "channels": recording.channels,
            "frames": recording.frames,
            "duration": None if recording.duration is None else float(recording.duration),
            "bytes": recording.bytes,
            "status": str(recording.status),  # a TextChoices member when set in memory: its value, as ChoiceField
            "metadata": recording.metadata,
            "created_at": _DATETIME.to_representation(recording.created_at) if recording.created_at else None,
            "processing": self.get_processing(recording),
        }


_DATETIME = serializers.DateTimeField()  # DRF's rendering of a datetime (ISO 8601 in the current zone, "Z" for UTC)


class ImportBatchOutput(serializers.ModelSerializer):
    percent = serializers.FloatField(read_only=True)

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "project",
            "source",
            "location",
            "status",
            "total",
            "processed",
            "percent",
            "accepted",
            "quarantined",
            "duplicates",
            "rejected",
            "results",
            "error",
            "created_at",
            "finished_at",
        ]


class ImportInput(serializers.Serializer):
    """A zip upload (``source: zip`` + ``file``) or an import from a registered source (``source_id`` + ``path``)."""

    source = serializers.ChoiceField(
        choices=["zip", "folder", "s3"],
        required=False,
        help_text="'zip' for an uploaded archive; omit (or match the source's kind) with source_id.",
    )
    source_id = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="A registered import source this project may use."
    )
    path = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1024,
        help_text="Optional sub-folder (or sub-prefix) inside the source.",
    )
    file = serializers.FileField(required=False)
    sidecar = serializers.FileField(required=False)
    location = serializers.CharField(required=False, help_text="No longer accepted: name a source_id instead.")

    def validate(self, attrs):
        if attrs.get("location"):
            raise serializers.ValidationError(
                {
                    "location": "imports no longer take a raw folder or bucket; name a "
                    "registered import source with 'source_id'"
                }
            )
        if attrs.get("source") == "zip":
            if not attrs.get("file"):
                raise serializers.ValidationError({"file": "a zip import needs the archive in the 'file' field"})
        elif not attrs.get("source_id"):
            raise serializers.ValidationError(
                {"source_id": "a folder or S3 import names a registered import source with 'source_id'"}
            )
        return attrs


class ImportSourceProjectOutput(serializers.ModelSerializer):
    """What a project manager sees of a source: no credentials."""

    address = serializers.CharField(read_only=True)

    class Meta:
        model = ImportSource
        fields = ["id", "name", "kind", "address"]


class ImportSourceOutput(serializers.ModelSerializer):
    """What a site administrator sees: everything but the secret key."""

    address = serializers.CharField(read_only=True)
    projects = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = ImportSource
        fields = [
            "id",
            "name",
            "kind",
            "address",
            "bucket",
            "prefix",
            "endpoint_url",
            "region_name",
            "access_key_id",
            "path",
            "projects",
            "enabled",
            "created_at",
        ]


class ImportSourceInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ImportSourceKind.choices)
    bucket = serializers.CharField(max_length=63, required=False, allow_blank=True)
    prefix = serializers.CharField(max_length=1024, required=False, allow_blank=True)
    endpoint_url = serializers.URLField(max_length=300, required=False, allow_blank=True)
    region_name = serializers.CharField(max_length=40, required=False, allow_blank=True)
    access_key_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    secret_access_key = serializers.CharField(max_length=200, required=False, allow_blank=True, write_only=True)
    path = serializers.CharField(max_length=1024, required=False, allow_blank=True)
    projects = serializers.PrimaryKeyRelatedField(many=True, queryset=Project.objects.all(), required=False)
    enabled = serializers.BooleanField(required=False)
