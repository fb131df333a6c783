"""Review API shapes: input serializers check shape only; output serializers render."""

from rest_framework import serializers

from apps.review.models import QAResult, QASettings


class QAResultOutput(serializers.ModelSerializer):
    flags = serializers.ListField(source="flag_list", child=serializers.CharField())
    original_name = serializers.CharField(source="recording.original_name")
    accepted_by = serializers.CharField(source="accepted_by.username", default=None, allow_null=True)

    class Meta:
        model = QAResult
        fields = [
            "recording", "original_name", "flags", "flagged", "duration_s", "sample_rate", "channels",
            "clipped_ratio", "clip_runs", "silence_ratio", "snr_db", "dc_offset", "loudness_lufs", "peak_dbfs",
            "rms_dbfs", "duplicate_of", "near_duplicate_of", "near_duplicate_similarity", "error",
            "accepted_by", "accepted_at", "accepted_note", "computed_at",
        ]


class QAAcceptInput(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, required=False, default="")


class QASettingsIO(serializers.ModelSerializer):
    class Meta:
        model = QASettings
        exclude = ["id", "project"]


class ReviewInput(serializers.Serializer):
    decision = serializers.CharField()
    comment = serializers.CharField(allow_blank=True, required=False, default="")
    regions = serializers.ListField(child=serializers.DictField(), required=False, allow_null=True, default=None)
    clip_labels = serializers.ListField(required=False, allow_null=True, default=None)


class ReviewOutput(serializers.Serializer):
    id = serializers.IntegerField()
    decision = serializers.CharField()
    comment = serializers.CharField(allow_blank=True, allow_null=True)
    reviewer = serializers.CharField(source="reviewer.username", default=None, allow_null=True)
    reviewed_version = serializers.IntegerField()
    resulting_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class GoldItemInput(serializers.Serializer):
    recording = serializers.IntegerField()
    reference = serializers.DictField(required=False, allow_null=True, default=None)
    annotation = serializers.IntegerField(required=False, allow_null=True, default=None)


class GoldItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    recording = serializers.IntegerField(source="recording_id")
    reference = serializers.JSONField()
    created_at = serializers.DateTimeField()


class ConsensusInput(serializers.Serializer):
    annotation_id = serializers.IntegerField()
    regions = serializers.ListField(child=serializers.DictField(), required=False, allow_null=True, default=None)
    clip_labels = serializers.ListField(required=False, allow_null=True, default=None)
