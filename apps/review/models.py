"""Review and QA tables: per-project QA/review settings, per-recording QA results, review decisions, gold items."""

from django.conf import settings
from django.db import models

from apps.catalog.models import Project, Recording
from apps.processing.dsp.qa import FLAG_ORDER
from apps.processing.dsp.transcript_qa import DEFAULT_TRANSFORMS

# Flags beyond the signal checks in dsp/qa.py: the catalogue-level ones.
QA_FLAGS = (*FLAG_ORDER, "duplicate", "near_duplicate", "unreadable")


def default_text_transforms() -> list[str]:
    return list(DEFAULT_TRANSFORMS)


class QASettings(models.Model):
    """Per-project QA thresholds (defaults = dsp.qa.QAThresholds) and what a flag does."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="qa_settings")
    max_clipped_ratio = models.FloatField(default=0.001)
    max_clip_runs = models.PositiveIntegerField(default=5)
    max_silence_ratio = models.FloatField(default=0.8)
    min_snr_db = models.FloatField(default=15.0)
    max_abs_dc_offset = models.FloatField(default=0.01)
    min_loudness_lufs = models.FloatField(default=-45.0)
    max_loudness_lufs = models.FloatField(default=-5.0)
    min_duration = models.FloatField(null=True, blank=True, help_text="Seconds; empty = no lower bound.")
    max_duration = models.FloatField(null=True, blank=True, help_text="Seconds; empty = no upper bound.")
    expected_sample_rate = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty = no check; the project's target rate is a common choice."
    )
    expected_channels = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty = no check.")
    near_duplicate_threshold = models.FloatField(default=0.3, help_text="Fingerprint similarity (0..1).")
    exclude_flagged = models.BooleanField(
        default=True, help_text="Flagged recordings stay out of annotation queues and releases until accepted."
    )
    # Review sampling: 1.0 reviews everything; 0.2 a random fifth of each annotator's submissions.
    review_fraction = models.FloatField(default=1.0)
    # Transcript QA (apps/processing/dsp/transcript_qa.py) and the text normalisation of WER/CER.
    transcript_max_draft_wer = models.FloatField(
        default=0.8, help_text="Flag a transcript whose WER against the recogniser's draft is above this."
    )
    transcript_rate_mads = models.FloatField(
        default=3.5, help_text="Characters per second outside median ± this many MADs (speaker's, project's)."
    )
    transcript_score_mads = models.FloatField(
        default=3.5, help_text="Alignment fit below the project's median - this many MADs."
    )
    transcript_max_foreign_script = models.FloatField(
        default=0.2, help_text="Share of letters outside the language's writing system(s) that flags a transcript."
    )
    transcript_duplicates = models.BooleanField(
        default=True, help_text="Flag one text on different audio (turn off for read-prompt projects)."
    )
    text_transforms = models.JSONField(
        default=default_text_transforms,
        blank=True,
        help_text="jiwer transforms applied before WER/CER, in order (names from TEXT_TRANSFORMS).",
    )

    class Meta:
        verbose_name_plural = "QA settings"

    def __str__(self):
        return f"QA settings of project {self.project_id}"


class QAResult(models.Model):
    """Automatic QA of one recording: measurements, fingerprint, flags and a manager's acceptance."""

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, related_name="qa_result")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    duration_s = models.FloatField(null=True)
    sample_rate = models.PositiveIntegerField(null=True)
    channels = models.PositiveSmallIntegerField(null=True)
    clipped_ratio = models.FloatField(null=True)
    clip_runs = models.PositiveIntegerField(null=True)
    silence_ratio = models.FloatField(null=True)
    snr_db = models.FloatField(null=True)
    dc_offset = models.FloatField(null=True)
    loudness_lufs = models.FloatField(null=True)
    peak_dbfs = models.FloatField(null=True)
    rms_dbfs = models.FloatField(null=True)
    fingerprint = models.BinaryField(null=True, editable=False)
    duplicate_of = models.ForeignKey(Recording, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    near_duplicate_of = models.ForeignKey(Recording, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    near_duplicate_similarity = models.FloatField(null=True)
    # Comma-delimited with leading and trailing commas (",clipping,low_snr,") so "has flag X" is a
    # portable substring filter on SQLite and PostgreSQL alike; ``flag_list`` gives the list.
    flags = models.CharField(max_length=300, default="", blank=True)
    flagged = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_note = models.TextField(blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "flagged"], name="qa_project_flagged"),
            models.Index(fields=["project", "computed_at"], name="qa_project_time"),
        ]

    def __str__(self):
        return f"QA of recording {self.recording_id}"

    @property
    def flag_list(self) -> list[str]:
        return [f for f in self.flags.split(",") if f]


class GoldItem(models.Model):
    """A recording with a reference annotation; annotators' work on it is scored against the reference."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="gold_items")
    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, related_name="gold_item")
    reference = models.JSONField(help_text='{"clip_labels": [...], "regions": [...], "transcript": "..."}')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class ReviewDecision(models.TextChoices):
    ACCEPT = "accept", "Accept"
    REJECT = "reject", "Reject"
    CORRECT = "correct", "Correct"
    ADOPT = "adopt", "Adopt (consensus)"
    MERGE = "merge", "Merge (consensus)"


class Review(models.Model):
    """One reviewer decision on one annotation (history: several per annotation over rejections)."""

    annotation = models.ForeignKey("annotation.Annotation", on_delete=models.CASCADE, related_name="reviews")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices)
    comment = models.TextField(blank=True)
    reviewed_version = models.PositiveIntegerField()
    resulting_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "created_at"], name="review_project_time")]


class ReviewSample(models.Model):
    """Whether a submitted annotation was drawn for review (sampling per project, decided once per submission)."""

    annotation = models.OneToOneField("annotation.Annotation", on_delete=models.CASCADE, related_name="review_sample")
    selected = models.BooleanField()
    decided_at = models.DateTimeField(auto_now_add=True)
    # The reviewer who was handed this item, so two reviewers never work on the same one at once.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)


class Consensus(models.Model):
    """The reviewer's outcome for an overlap item: one annotation adopted, or a merge saved into one."""

    recording = models.OneToOneField(Recording, on_delete=models.CASCADE, related_name="consensus")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    annotation = models.ForeignKey("annotation.Annotation", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(help_text="The annotation version that is the consensus.")
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class TranscriptQA(models.Model):
    """Automatic transcript QA of one annotation: the measures and the flags they trip (beside audio QA)."""

    annotation = models.OneToOneField("annotation.Annotation", on_delete=models.CASCADE, related_name="transcript_qa")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="+")
    text_key = models.CharField(max_length=64, blank=True, help_text="sha256 of the normalised text (duplicates).")
    measures = models.JSONField(default=dict)
    # Same comma format as QAResult.flags (",transcript_rate,transcript_alignment_low,").
    flags = models.CharField(max_length=300, default="", blank=True)
    flag_count = models.PositiveSmallIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "flag_count"], name="transcript_qa_project_flags"),
            models.Index(fields=["project", "text_key"], name="transcript_qa_project_text"),
        ]

    def __str__(self):
        return f"transcript QA of annotation {self.annotation_id}"

    @property
    def flag_list(self) -> list[str]:
        return [f for f in self.flags.split(",") if f]
