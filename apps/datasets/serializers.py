"""Release API shapes: input checks shape only (the service validates the spec); output renders rows."""

from rest_framework import serializers

from apps.datasets.models import DatasetRelease, ReleaseItem


class ReleaseCreateInput(serializers.Serializer):
    spec = serializers.JSONField(help_text="The release spec; see docs in apps/datasets/services/spec.py.")


class ReleaseOutput(serializers.ModelSerializer):
    download_blocked = serializers.BooleanField(source="needs_rebuild")

    class Meta:
        model = DatasetRelease
        fields = [
            "id",
            "project",
            "version",
            "name",
            "purpose",
            "unit",
            "spec",
            "status",
            "stage",
            "progress",
            "error",
            "stats",
            "files",
            "content_hash",
            "needs_rebuild",
            "download_blocked",
            "rebuild_reason",
            "marked_at",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ReleaseDetailOutput(ReleaseOutput):
    class Meta(ReleaseOutput.Meta):
        fields = ReleaseOutput.Meta.fields + ["data_card"]


class ReleaseItemOutput(serializers.ModelSerializer):
    class Meta:
        model = ReleaseItem
        fields = [
            "key",
            "split",
            "annotation_version",
            "region_uid",
            "start",
            "end",
            "duration",
            "speaker_code",
            "language",
            "labels",
            "text",
            "audio_sha256",
            "example_sha256",
        ]


class WithdrawalOutput(serializers.ModelSerializer):
    class Meta:
        model = ReleaseItem
        fields = ["key", "split", "example_sha256", "withdrawn_at"]
