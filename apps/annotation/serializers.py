"""Shapes of the annotation API (docs/annotator-api.md). Inputs check shape only; services check rules."""

from rest_framework import serializers

from apps.annotation.models import FieldType, LabelKind
from apps.catalog.serializers import RecordingOutput


class AnnotationSaveInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=0)
    # Region rules (times, labels, channels) need the recording and the schema: the service checks them.
    regions = serializers.ListField(child=serializers.DictField(), allow_empty=True)
    clip_labels = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class AnnotationSubmitInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=0)


class QueueNextInput(serializers.Serializer):
    # false: leave the queue counts out of the answer (the annotator asks queue/progress/ once the item is drawn)
    progress = serializers.BooleanField(required=False, default=True)


class AnnotationListInput(serializers.Serializer):
    project = serializers.IntegerField(required=False)
    status = serializers.CharField(required=False)


class LabelInput(serializers.Serializer):
    id = serializers.IntegerField(required=False)
    name = serializers.CharField(max_length=100)
    color = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True, default="")


class LabelCreateInput(LabelInput):
    kind = serializers.ChoiceField(choices=LabelKind.choices, default=LabelKind.REGION)


class RegionFieldInput(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    type = serializers.ChoiceField(choices=FieldType.choices)
    choices = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)


class LabelSchemaInput(serializers.Serializer):
    region_labels = LabelInput(many=True, required=False)
    clip_labels = LabelInput(many=True, required=False)
    region_fields = RegionFieldInput(many=True, required=False)
    clip_multi = serializers.BooleanField(required=False)
    transcript = serializers.BooleanField(required=False)
    overlap = serializers.IntegerField(required=False, min_value=1, max_value=50)
    lock_minutes = serializers.IntegerField(required=False, min_value=1, max_value=24 * 60)


# --- Output shapes: the views render with these and the schema reads them --------------------------------


class RegionOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The client's uuid.")
    start = serializers.FloatField(help_text="Seconds, ms precision.")
    end = serializers.FloatField()
    channel = serializers.IntegerField(allow_null=True)
    label = serializers.IntegerField(allow_null=True)
    text = serializers.CharField(allow_blank=True)
    attributes = serializers.DictField()
    fmin = serializers.FloatField(allow_null=True)
    fmax = serializers.FloatField(allow_null=True)
    source = serializers.DictField(
        allow_null=True, required=False, help_text="Provenance of a region accepted from a model's suggestion."
    )


class AnnotationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.IntegerField()
    recording = serializers.IntegerField()
    annotator = serializers.IntegerField(required=False, help_text="Absent in list items.")
    status = serializers.CharField()
    version = serializers.IntegerField()
    clip_labels = serializers.ListField(child=serializers.IntegerField())
    review_comment = serializers.CharField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    regions = RegionOutput(many=True)

    def to_representation(self, annotation) -> dict:
        # Built directly from the prefetched rows (the autosave path renders one per save); the declared fields
        # above are the schema of exactly this dict (tests/annotation/test_output.py holds them together).
        return {
            "id": annotation.id,
            "project": annotation.project_id,
            "recording": annotation.recording_id,
            "annotator": annotation.annotator_id,
            "status": annotation.status,
            "version": annotation.version,
            "clip_labels": sorted(label.id for label in annotation.clip_labels.all()),
            "review_comment": annotation.review_comment,
            "submitted_at": annotation.submitted_at.isoformat() if annotation.submitted_at else None,
            "updated_at": annotation.updated_at.isoformat() if annotation.updated_at else None,
            "regions": [r.as_dict() for r in sorted(annotation.regions.all(), key=lambda r: (r.start, r.end, r.uid))],
        }


class VersionOutput(serializers.Serializer):
    version = serializers.IntegerField()
    author = serializers.IntegerField(allow_null=True)
    kind = serializers.CharField()
    status = serializers.CharField()
    comment = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    regions = RegionOutput(many=True)
    clip_labels = serializers.ListField(child=serializers.IntegerField())

    def to_representation(self, version) -> dict:
        return {
            "version": version.version,
            "author": version.author_id,
            "kind": version.kind,
            "status": version.status,
            "comment": version.comment,
            "created_at": version.created_at.isoformat(),
            "regions": version.regions,
            "clip_labels": version.clip_labels,
        }


class LabelOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()
    hotkey = serializers.CharField(allow_blank=True)


class RegionFieldOutput(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField())


class LabelSchemaOutput(serializers.Serializer):
    region_labels = LabelOutput(many=True)
    clip_labels = LabelOutput(many=True)
    clip_multi = serializers.BooleanField()
    transcript = serializers.BooleanField()
    overlap = serializers.IntegerField()
    lock_minutes = serializers.IntegerField()
    region_fields = RegionFieldOutput(many=True)


class QueueNextOutput(serializers.Serializer):
    """``queue/next/``'s answer, for the schema (built by ``apps.annotation.embed.queue_next_body``)."""

    annotation = AnnotationOutput()
    recording = RecordingOutput()
    progress = serializers.DictField(
        required=False, help_text="{left, total}: the queue's counts after this claim; absent with ?progress=false."
    )
    peaks = serializers.DictField(
        allow_null=True,
        help_text="The recording's peaks at the first zoom level: what GET recordings/{rid}/peaks?max_length=6000 "
        "answers (BBC audiowaveform JSON plus duration); null before processing is done.",
    )


class SkipOutput(serializers.Serializer):
    annotation = serializers.IntegerField()
    recording = serializers.IntegerField()
    status = serializers.CharField()


class WordOutput(serializers.Serializer):
    word = serializers.CharField()
    start = serializers.FloatField(help_text="Seconds from the start of the recording.")
    end = serializers.FloatField()
    score = serializers.FloatField(help_text="The aligner's mean per-frame log-likelihood (0 is perfect).")


class RegionWordsOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The region's id.")
    start = serializers.FloatField()
    end = serializers.FloatField()
    text = serializers.CharField()
    status = serializers.ChoiceField(choices=["aligned", "failed", "no_engine", "pending"])
    score = serializers.FloatField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    engine = serializers.CharField(allow_blank=True)
    words = WordOutput(many=True)


class WordsOutput(serializers.Serializer):
    annotation = serializers.IntegerField()
    regions = RegionWordsOutput(many=True)
