"""Label schemas, assignments (the queue) and annotations with their regions and kept versions."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

# The same rules the schema service applies, so admin forms refuse what the API refuses.
_hotkey = RegexValidator(r"^[1-9]?$", "A hotkey is one of the keys 1 to 9, or blank.")
_color = RegexValidator(r"^(#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8}))?$", "Use a hex colour like #1f77b4.")


class LabelKind(models.TextChoices):
    REGION = "region", "Region label"
    CLIP = "clip", "Clip label"


class Label(models.Model):
    """One label of a project's schema: for time regions or for the whole clip."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="labels")
    kind = models.CharField(max_length=8, choices=LabelKind.choices, default=LabelKind.REGION)
    name = models.CharField(max_length=100)
    color = models.CharField(
        max_length=16, blank=True, default="", validators=[_color], help_text="Hex colour, e.g. #1f77b4."
    )
    hotkey = models.CharField(
        max_length=1, blank=True, default="", validators=[_hotkey], help_text="'1'..'9' or blank."
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project_id", "kind", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "name"], name="label_name_unique_per_kind"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.name}"

    def clean(self):
        if (
            self.hotkey
            and Label.objects.filter(project_id=self.project_id, kind=self.kind, hotkey=self.hotkey)
            .exclude(pk=self.pk)
            .exists()
        ):
            raise ValidationError({"hotkey": f"Another {self.kind} label of this project already uses {self.hotkey}."})


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    CHOICE = "choice", "Choice"
    CHECKBOX = "checkbox", "Checkbox"


class RegionField(models.Model):
    """A per-region attribute of a project's schema (stored in Region.attributes under its name)."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="region_fields")
    name = models.CharField(max_length=64)
    type = models.CharField(max_length=8, choices=FieldType.choices, default=FieldType.TEXT)
    choices = models.JSONField(default=list, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project_id", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="region_field_name_unique")]

    def __str__(self):
        return self.name

    def clean(self):
        if self.type == FieldType.CHOICE and not self.choices:
            raise ValidationError({"choices": "A choice field needs at least one choice."})
        if not isinstance(self.choices, list) or not all(isinstance(c, str) for c in self.choices):
            raise ValidationError({"choices": "Choices are a list of strings."})


class AnnotationSettings(models.Model):
    """Per-project annotation settings (kept here so catalog.Project stays untouched)."""

    project = models.OneToOneField("catalog.Project", on_delete=models.CASCADE, related_name="annotation_settings")
    overlap = models.PositiveSmallIntegerField(default=1, help_text="Annotators per recording.")
    lock_minutes = models.PositiveIntegerField(default=30, help_text="How long a handed-out item stays reserved.")
    clip_multi = models.BooleanField(default=False, help_text="Clip labels allow several choices.")
    transcript = models.BooleanField(default=True, help_text="Regions carry a transcript.")
    draft_languages = models.JSONField(
        default=list,
        blank=True,
        help_text='Language tags whose recordings get draft transcripts from a recogniser, e.g. ["en"].',
    )

    class Meta:
        verbose_name_plural = "annotation settings"

    def __str__(self):
        return f"annotation settings of {self.project_id}"


class AssignmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class Assignment(models.Model):
    """One annotator's slot on one recording; open slots hold a lock that expires."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="+")
    recording = models.ForeignKey("catalog.Recording", on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.OPEN)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recording", "annotator"], name="one_assignment_per_annotator")]
        indexes = [
            models.Index(fields=["recording", "status"], name="assignment_recording_status"),
            models.Index(fields=["project", "annotator", "status"], name="assignment_annotator_status"),
        ]

    def __str__(self):
        return f"assignment {self.pk} ({self.status})"


class AnnotationStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Annotation(models.Model):
    """One annotator's work on one recording; ``version`` guards concurrent saves."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="+")
    recording = models.ForeignKey("catalog.Recording", on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    status = models.CharField(max_length=16, choices=AnnotationStatus.choices, default=AnnotationStatus.IN_PROGRESS)
    version = models.PositiveIntegerField(default=0)
    clip_labels = models.ManyToManyField(Label, blank=True, related_name="+")
    review_comment = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recording", "annotator"], name="one_annotation_per_annotator")]
        indexes = [models.Index(fields=["project", "status", "id"], name="annotation_project_status")]

    def __str__(self):
        return f"annotation {self.pk} v{self.version} ({self.status})"


class Region(models.Model):
    """A labelled time (and optionally frequency) span of a recording."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="regions")
    uid = models.CharField(max_length=64, help_text="The client's uuid for this region.")
    start = models.FloatField(help_text="Seconds, rounded to milliseconds by the services.")
    end = models.FloatField(help_text="Seconds, rounded to milliseconds by the services.")
    channel = models.PositiveSmallIntegerField(null=True, blank=True)
    label = models.ForeignKey(Label, null=True, blank=True, on_delete=models.PROTECT, related_name="regions")
    text = models.TextField(blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    fmin = models.FloatField(null=True, blank=True)
    fmax = models.FloatField(null=True, blank=True)
    source = models.JSONField(
        null=True,
        blank=True,
        help_text="Provenance of a region accepted from a model's "
        "suggestion: {model, version, label, confidence, start, end} as suggested.",
    )

    class Meta:
        ordering = ["annotation_id", "start", "id"]
        constraints = [models.UniqueConstraint(fields=["annotation", "uid"], name="region_uid_unique")]

    def __str__(self):
        return f"region {self.uid} {self.start}-{self.end}"

    def as_dict(self) -> dict:
        """The region as the API shows it and as version snapshots store it (see RegionOutput)."""
        return {
            "id": self.uid,
            "start": self.start,
            "end": self.end,
            "channel": self.channel,
            "label": self.label_id,
            "text": self.text,
            "attributes": self.attributes,
            "fmin": self.fmin,
            "fmax": self.fmax,
            "source": self.source,
        }


class VersionKind(models.TextChoices):
    SAVE = "save", "Save"
    SUBMIT = "submit", "Submit"
    CORRECTION = "correction", "Reviewer correction"
    REVIEW = "review", "Review decision"


class AnnotationVersion(models.Model):
    """A frozen copy of an annotation after each save: nothing typed is ever lost."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=16, choices=VersionKind.choices, default=VersionKind.SAVE)
    status = models.CharField(max_length=16, choices=AnnotationStatus.choices, blank=True, default="")
    regions = models.JSONField(default=list)
    clip_labels = models.JSONField(default=list)
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["annotation_id", "version"]
        constraints = [models.UniqueConstraint(fields=["annotation", "version"], name="annotation_version_unique")]

    def __str__(self):
        return f"annotation {self.annotation_id} v{self.version} ({self.kind})"


class TranscriptDraft(models.Model):
    """A recogniser's draft transcript of one voiced segment: a suggestion, never an annotation by itself."""

    recording = models.ForeignKey("catalog.Recording", on_delete=models.CASCADE, related_name="transcript_drafts")
    start = models.FloatField()
    end = models.FloatField()
    text = models.TextField(blank=True, default="")
    words = models.JSONField(default=list, help_text="[[word, start, end, score], ...] in recording seconds.")
    engine = models.CharField(max_length=64)
    engine_version = models.CharField(max_length=64)
    language = models.CharField(max_length=35)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recording_id", "start", "id"]

    def __str__(self):
        return f"draft {self.recording_id} {self.start}-{self.end} ({self.engine})"


class AlignmentStatus(models.TextChoices):
    ALIGNED = "aligned", "Aligned"
    FAILED = "failed", "Alignment failed"
    NO_ENGINE = "no_engine", "No aligner for the language"


class TranscriptAlignment(models.Model):
    """Word timings of one transcript on one span of a recording (forced alignment).

    Content-addressed by (recording, start, end, sha256 of the text): the same words on the same audio are
    aligned once, whichever annotation or version holds them, and a changed transcript gets a new row.
    """

    recording = models.ForeignKey("catalog.Recording", on_delete=models.CASCADE, related_name="transcript_alignments")
    start = models.FloatField()
    end = models.FloatField()
    text_sha256 = models.CharField(max_length=64)
    language = models.CharField(max_length=35, blank=True, default="")
    status = models.CharField(max_length=16, choices=AlignmentStatus.choices)
    words = models.JSONField(default=list, help_text="[[word, start, end, score], ...] in recording seconds.")
    score = models.FloatField(null=True, blank=True, help_text="Mean per-frame log-likelihood (0 is perfect).")
    coverage = models.FloatField(null=True, blank=True, help_text="Share of the voiced audio the words cover.")
    error = models.TextField(blank=True, default="")
    engine = models.CharField(max_length=64, blank=True, default="")
    engine_version = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recording_id", "start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recording", "start", "end", "text_sha256"], name="transcript_alignment_unique"
            )
        ]

    def __str__(self):
        return f"alignment {self.recording_id} {self.start}-{self.end} ({self.status})"
