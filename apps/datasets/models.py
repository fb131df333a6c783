"""Dataset releases and their frozen manifests. Workflows live in services."""

from django.conf import settings
from django.db import models

from apps.consent.purposes import Purpose
from apps.core.leases import LeasedWork


class ReleaseStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ReleaseUnit(models.TextChoices):
    RECORDING = "recording", "One example per recording"
    REGION = "region", "One example per labelled region"


class DatasetRelease(LeasedWork):
    """One immutable, versioned release of a project's data; a rebuild is a new version.

    A worker claims the build with a lease (LeasedWork); if it dies, a sweeper re-queues the build and the
    next run starts it over from an empty storage prefix.
    """

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="releases")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    unit = models.CharField(max_length=16, choices=ReleaseUnit.choices, default=ReleaseUnit.RECORDING)
    spec = models.JSONField(
        help_text="The normalised spec: filters, unit and margin, audio, features, splits, formats."
    )
    status = models.CharField(max_length=16, choices=ReleaseStatus.choices, default=ReleaseStatus.QUEUED)
    stage = models.CharField(max_length=32, blank=True)
    progress = models.FloatField(default=0.0, help_text="Percent done.")
    error = models.TextField(blank=True)
    stats = models.JSONField(default=dict, blank=True, help_text="Per-split statistics and leakage warnings.")
    files = models.JSONField(default=dict, blank=True, help_text="Per format: checksum, file count, bytes.")
    data_card = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True, help_text="sha256 over the frozen manifest.")
    needs_rebuild = models.BooleanField(default=False)
    rebuild_reason = models.TextField(blank=True)
    marked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "version"], name="release_version_unique")]
        indexes = [models.Index(fields=["project", "-id"], name="release_project_id")]
        ordering = ["-id"]

    def __str__(self):
        return f"{self.name} v{self.version}"

    @property
    def storage_prefix(self) -> str:
        return f"releases/{self.project_id}/{self.pk}/"


class ReleaseItem(models.Model):
    """One example of a release, frozen at build time: what it was made from and where it went."""

    release = models.ForeignKey(DatasetRelease, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=80)
    recording = models.ForeignKey(
        "catalog.Recording", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recording_ref = models.BigIntegerField(help_text="The recording's id, kept if the row goes.")
    annotation_ref = models.BigIntegerField(null=True, blank=True)
    annotation_version = models.PositiveIntegerField(null=True, blank=True)
    region_uid = models.CharField(max_length=64, blank=True)
    start = models.FloatField(default=0.0, help_text="Seconds into the recording where the example starts.")
    end = models.FloatField(null=True, blank=True, help_text="Seconds; empty = to the end.")
    split = models.CharField(max_length=16)
    speaker_code = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=35, blank=True)
    text = models.TextField(blank=True)
    labels = models.JSONField(default=list, blank=True)
    duration = models.FloatField(default=0.0)
    audio_sha256 = models.CharField(max_length=64, help_text="The source audio's sha256.")
    example_sha256 = models.CharField(max_length=64, blank=True, help_text="The encoded example's sha256.")
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "key"], name="release_item_key_unique")]
        indexes = [
            models.Index(fields=["recording_ref"], name="release_item_recording"),
            models.Index(fields=["release", "withdrawn_at"], name="release_item_withdrawn"),
        ]
        ordering = ["release_id", "key"]

    def __str__(self):
        return f"{self.key} of release {self.release_id}"
