"""Review API shapes: input serializers check shape only; output serializers render."""

from rest_framework import serializers

from apps.annotation.serializers import AnnotationOutput
from apps.core.fields import QueryBool, QueryChoice, QueryInput, QueryNumber
from apps.processing.dsp.transcript_qa import TEXT_TRANSFORMS, TRANSCRIPT_FLAGS
from apps.review.models import QA_FLAGS, QAResult, QASettings, TranscriptQA
from apps.review.selectors import QA_RANGE_FIELDS


class QAResultOutput(serializers.ModelSerializer):
    flags = serializers.ListField(source="flag_list", child=serializers.CharField())
    original_name = serializers.CharField(source="recording.original_name")
    accepted_by = serializers.CharField(source="accepted_by.username", default=None, allow_null=True)

    class Meta:
        model = QAResult
        fields = [
            "recording",
            "original_name",
            "flags",
            "flagged",
            "duration_s",
            "sample_rate",
            "channels",
            "clipped_ratio",
            "clip_runs",
            "silence_ratio",
            "snr_db",
            "dc_offset",
            "loudness_lufs",
            "peak_dbfs",
            "rms_dbfs",
            "duplicate_of",
            "near_duplicate_of",
            "near_duplicate_similarity",
            "error",
            "accepted_by",
            "accepted_at",
            "accepted_note",
            "computed_at",
        ]


class QAAcceptInput(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, required=False, default="")


class TextTransformField(serializers.ChoiceField):
    default_error_messages = {
        "invalid_choice": "Unknown text transform {input!r}; known transforms: " + ", ".join(TEXT_TRANSFORMS) + "."
    }


class QASettingsIO(serializers.ModelSerializer):
    text_transforms = serializers.ListField(
        child=TextTransformField(choices=list(TEXT_TRANSFORMS)),
        required=False,
        help_text="jiwer transforms applied, in order, before WER/CER (agreement, transcript QA, release cards).",
    )

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


class ConsensusAnnotationOutput(AnnotationOutput):
    username = serializers.CharField()

    def to_representation(self, annotation) -> dict:
        return {**super().to_representation(annotation), "username": annotation.annotator.username}


class ConsensusOutput(serializers.Serializer):
    """One recording's finished annotations side by side (apps.review.agreement.recording_consensus)."""

    recording = serializers.IntegerField()
    project = serializers.IntegerField()
    annotations = ConsensusAnnotationOutput(many=True)
    regions = serializers.JSONField(help_text="Pairwise region agreement.")
    transcripts = serializers.JSONField(help_text="Pairwise transcript error rates.")
    consensus = serializers.JSONField(allow_null=True, help_text="The decision taken, if any.")


class QAFlagField(serializers.ChoiceField):
    default_error_messages = {"invalid_choice": "Unknown QA flag {input!r}; known flags: " + ", ".join(QA_FLAGS) + "."}


class QAListQuery(QueryInput):
    """QA list filters: ``flag`` (repeatable), ``flagged``, ``accepted``, ``min_<metric>`` / ``max_<metric>``."""

    flag = serializers.ListField(child=QAFlagField(choices=QA_FLAGS), required=False)
    flagged = QueryBool()
    accepted = QueryBool()

    def get_fields(self):
        fields = super().get_fields()
        for name in QA_RANGE_FIELDS:  # one pair per numeric QA measure, listed in the schema like the rest
            fields[f"min_{name}"] = QueryNumber(help_text=f"Only results with {name} at least this.")
            fields[f"max_{name}"] = QueryNumber(help_text=f"Only results with {name} at most this.")
        return fields


class TranscriptQAOutput(serializers.ModelSerializer):
    flags = serializers.ListField(source="flag_list", child=serializers.ChoiceField(choices=TRANSCRIPT_FLAGS))
    status = serializers.CharField(source="annotation.status")
    measures = serializers.JSONField(
        help_text="chars_per_second, draft_wer, align_score, score_gap, foreign_script, alignment (see docs/review.md)."
    )

    class Meta:
        model = TranscriptQA
        fields = ["annotation", "recording", "status", "flags", "flag_count", "measures", "computed_at"]


class TranscriptFlagField(serializers.ChoiceField):
    default_error_messages = {
        "invalid_choice": "Unknown transcript QA flag {input!r}; known flags: " + ", ".join(TRANSCRIPT_FLAGS) + "."
    }


class TranscriptQAListQuery(QueryInput):
    """Transcript QA list filter: ``flag`` (repeatable)."""

    flag = serializers.ListField(child=TranscriptFlagField(choices=TRANSCRIPT_FLAGS), required=False)


class ReviewNextQuery(QueryInput):
    order = QueryChoice(
        choices=("oldest", "transcript_flags"),
        required=False,
        help_text="oldest (default): oldest submission first; transcript_flags: most transcript-QA flags first.",
    )
