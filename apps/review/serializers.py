"""Review API shapes: input serializers check shape only; output serializers render."""

from rest_framework import serializers

from apps.review.models import QAResult, QASettings


class QAResultOutput(serializers.ModelSerializer):
    flags = serializers.ListField(source="flag_list", child=serializers.CharField())
    original_name = serializers.CharField(source="recording.original_name")
    accepted_by = serializers.CharField(source="accepted_by.username", default=None)

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
