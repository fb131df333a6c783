"""Recipes, jobs and artifacts. Workflows live in services; these are fields and constraints."""

from django.conf import settings
from django.db import models


class Recipe(models.Model):
    """A validated, immutable processing spec. Changing a project's recipe means adding a new row."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    spec = models.JSONField(help_text="Normalised by services.recipe_spec_validate; never edited in place.")
    spec_hash = models.CharField(max_length=64, help_text="sha256 of the canonical JSON of spec.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "spec_hash"], name="recipe_unique_spec_in_project")]
        ordering = ["-id"]

    def __str__(self):
        return f"{self.name} ({self.spec_hash[:12]})"


class ProjectProcessing(models.Model):
    """The project's active recipe (kept here so the catalogue's Project stays processing-agnostic)."""

    project = models.OneToOneField("catalog.Project", on_delete=models.CASCADE, related_name="processing")
    active_recipe = models.ForeignKey(Recipe, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"project {self.project_id} uses recipe {self.active_recipe_id}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobKind(models.TextChoices):
    RECORDING = "recording", "One recording"
    PROJECT = "project", "Project-wide reprocess"


class ProcessingJob(models.Model):
    """One run of a recipe over one recording, or a project-wide parent of such runs."""

    kind = models.CharField(max_length=16, choices=JobKind.choices, default=JobKind.RECORDING)
    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="+")
    recording = models.ForeignKey(
        "catalog.Recording", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recipe = models.ForeignKey(Recipe, on_delete=models.PROTECT, related_name="jobs")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    only_missing = models.BooleanField(default=False, help_text="Parent jobs: skip recordings already complete.")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    stage = models.CharField(max_length=32, blank=True)
    percent = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    notes = models.JSONField(default=list, blank=True, help_text="What the run adapted or skipped, in words.")
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    # At-least-once delivery: a run holds the job through claim_token until lease_expires_at,
    # renewed as it reports progress; an expired lease lets a redelivered message take over.
    claim_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["project", "-id"], name="job_project_id"),
            models.Index(fields=["recording", "-id"], name="job_recording_id"),
            models.Index(fields=["status", "lease_expires_at"], name="job_status_lease"),
            models.Index(fields=["parent", "status"], name="job_parent_status"),
        ]

    def __str__(self):
        return f"job {self.pk} ({self.kind}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class Artifact(models.Model):
    """One derived file in storage, keyed by what it was made from: (source bytes, recipe, kind)."""

    recording = models.ForeignKey(
        "catalog.Recording",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The recording that first produced it.",
    )
    source_sha256 = models.CharField(max_length=64)
    recipe_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=300, unique=True, help_text="Content-addressed storage key.")
    bytes = models.BigIntegerField()
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_sha256", "recipe_hash", "kind"], name="artifact_unique_kind"),
        ]
        indexes = [models.Index(fields=["source_sha256", "kind", "-id"], name="artifact_source_kind")]

    def __str__(self):
        return self.key
