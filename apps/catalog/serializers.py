from rest_framework import serializers

from apps.catalog.models import ImportBatch, Project, Recording
from apps.core.hooks import RECORDING_PROCESSING, hook_one


class ProjectOutput(serializers.ModelSerializer):
    allowed_languages = serializers.SlugRelatedField(many=True, read_only=True, slug_field="tag")

    class Meta:
        model = Project
        fields = ["id", "name", "description", "target_sample_rate", "allowed_languages", "require_speaker",
                  "label_settings", "created_at"]


class ProjectInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    target_sample_rate = serializers.IntegerField(min_value=8000, max_value=192000, required=False, default=16000)
    require_speaker = serializers.BooleanField(required=False, default=False)


class RecordingOutput(serializers.ModelSerializer):
    speaker = serializers.CharField(source="speaker.code", default=None, read_only=True)
    language = serializers.CharField(source="language.tag", default=None, read_only=True)
    processing = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = ["id", "project", "original_name", "speaker", "language", "sha256", "container", "codec",
                  "sample_rate", "channels", "frames", "duration", "bytes", "status", "metadata", "created_at",
                  "processing"]

    def get_processing(self, recording) -> dict:
        return hook_one(RECORDING_PROCESSING, recording=recording)


class ImportBatchOutput(serializers.ModelSerializer):
    percent = serializers.FloatField(read_only=True)

    class Meta:
        model = ImportBatch
        fields = ["id", "project", "source", "location", "status", "total", "processed", "percent", "accepted",
                  "duplicates", "rejected", "results", "error", "created_at", "finished_at"]


class ImportInput(serializers.Serializer):
    source = serializers.ChoiceField(choices=["zip", "folder", "s3"])
    file = serializers.FileField(required=False)
    location = serializers.CharField(required=False, allow_blank=False)
    sidecar = serializers.FileField(required=False)

    def validate(self, attrs):
        if attrs["source"] == "zip" and not attrs.get("file"):
            raise serializers.ValidationError({"file": "a zip import needs the archive in the 'file' field"})
        if attrs["source"] != "zip" and not attrs.get("location"):
            raise serializers.ValidationError({"location": "a folder or s3 import needs a 'location'"})
        return attrs
