"""Project models: what a model was trained on (exactly), how, how well, where its artifact is, and its state."""

from django.conf import settings
from django.db import models


class Task(models.TextChoices):
    CLIP = "clip", "Clip classification"
    REGION = "region", "Region classification"


class Backend(models.TextChoices):
    SKLEARN = "sklearn", "scikit-learn on feature statistics"
    CNN = "cnn", "small CNN on log-mel patches (PyTorch)"


class ModelState(models.TextChoices):
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    STALE = "stale", "Stale (a speaker it saw withdrew)"
    FAILED = "failed", "Failed"
    PURGED = "purged", "Purged"


class ProjectModel(models.Model):
    """One trained (or training) classifier of a project, over the project's labels of one kind."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(help_text="1, 2, … per project, in creation order.")
    task = models.CharField(max_length=8, choices=Task.choices, default=Task.REGION)
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.SKLEARN)
    recipe = models.JSONField(default=dict, help_text="Backend, hyperparameters, seed, augmentation: all it took.")
    classes = models.JSONField(default=list, help_text="[[label id, name], …] in the model's output order.")
    state = models.CharField(max_length=16, choices=ModelState.choices, default=ModelState.TRAINING)
    stage = models.CharField(max_length=32, blank=True, default="queued")
    percent = models.FloatField(default=0.0)
    error = models.TextField(blank=True, default="")
    metrics = models.JSONField(
        default=dict, blank=True, help_text="Held-out accuracy, macro-F1, chance, per class, confusion, curve."
    )
    counts = models.JSONField(default=dict, blank=True, help_text="Examples, recordings and speakers per split.")
    artifact_key = models.CharField(max_length=300, blank=True, default="")
    artifact_bytes = models.BigIntegerField(default=0)
    retrain_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retrains")
    release_id = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set for a release's baseline (trained on its train split)."
    )
    # At-least-once delivery: a run holds the model through claim_token until lease_expires_at, renewed at
    # every progress report; a redelivered or re-sent message takes over an expired lease (3 attempts).
    claim_token = models.CharField(max_length=32, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stale_at = models.DateTimeField(null=True, blank=True)
    purge_due_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "version"], name="learning_model_version_unique")]
        indexes = [models.Index(fields=["project", "state", "-version"], name="learning_model_project_state")]
        ordering = ["-id"]

    def __str__(self):
        return f"model {self.pk} v{self.version} ({self.backend}, {self.state})"


class TrainingExample(models.Model):
    """One example a model saw (train) or was scored on (test): the exact, queryable training set."""

    model = models.ForeignKey(ProjectModel, on_delete=models.CASCADE, related_name="examples")
    recording = models.ForeignKey("catalog.Recording", on_delete=models.CASCADE, related_name="+")
    speaker = models.ForeignKey("catalog.Speaker", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    region_id = models.PositiveBigIntegerField(null=True, blank=True)
    label_id = models.PositiveBigIntegerField()
    split = models.CharField(max_length=12)

    class Meta:
        indexes = [models.Index(fields=["recording", "model"], name="learning_example_recording")]

    def __str__(self):
        return f"example of model {self.model_id}: recording {self.recording_id} ({self.split})"


class QueueOrder(models.TextChoices):
    ID = "id", "In id order"
    RANDOM = "random", "Random"
    UNCERTAINTY = "uncertainty", "Most uncertain first (active learning)"


class Uncertainty(models.TextChoices):
    MARGIN = "margin", "Margin between the two likeliest labels"
    ENTROPY = "entropy", "Entropy of the predicted labels"


class LearningSettings(models.Model):
    """Per project: which queue order annotators get, and how uncertainty is measured."""

    project = models.OneToOneField("catalog.Project", on_delete=models.CASCADE, related_name="learning_settings")
    queue_order = models.CharField(max_length=16, choices=QueueOrder.choices, default=QueueOrder.ID)
    uncertainty = models.CharField(max_length=8, choices=Uncertainty.choices, default=Uncertainty.MARGIN)
    coverage_weight = models.FloatField(default=0.5, help_text="How much rare labels, speakers, languages count.")
    seed = models.PositiveIntegerField(default=0, help_text="Seed of the random order.")

    def __str__(self):
        return f"learning settings of {self.project_id}"


class RecordingScore(models.Model):
    """A ready model's view of one not-yet-labelled recording: how unsure it is, and its place in the queue."""

    model = models.ForeignKey(ProjectModel, on_delete=models.CASCADE, related_name="scores")
    recording = models.ForeignKey("catalog.Recording", on_delete=models.CASCADE, related_name="+")
    predicted_label_id = models.PositiveBigIntegerField(null=True, blank=True)
    margin = models.FloatField()
    entropy = models.FloatField()
    priority = models.FloatField(
        help_text="Place in the active-learning order (apps/learning/active.py), counted down: higher first."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "recording"], name="learning_score_unique")]

    def __str__(self):
        return f"score of recording {self.recording_id} by model {self.model_id}"
