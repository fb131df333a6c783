"""Consent forms and records, withdrawals, purges, tombstones and the append-only audit log."""

from django.conf import settings
from django.db import models

from apps.consent.purposes import PURPOSE_BITS, Purpose, mask_to_purposes


class ConsentForm(models.Model):
    """One version of the text a speaker agrees to; old versions stay readable."""

    project = models.ForeignKey("catalog.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    text = models.TextField()
    sha256 = models.CharField(max_length=64, help_text="sha256 of the UTF-8 text, set when the version is created.")
    language = models.ForeignKey("catalog.Language", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    purpose_mask = models.PositiveIntegerField(help_text="Purposes this form covers (bit mask).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "title", "version"], name="consent_form_version_unique")
        ]
        ordering = ["title", "-version"]

    @property
    def purposes(self) -> list[str]:
        return mask_to_purposes(self.purpose_mask)

    def __str__(self):
        return f"{self.title} v{self.version}"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"
    EXPIRED = "expired", "Expired"


class WithdrawnVia(models.TextChoices):
    MANAGER = "manager", "Manager"
    SELF_SERVICE = "self_service", "Self-service link"
    EXPIRY = "expiry", "Expiry"
    RETENTION = "retention", "Retention period"


class ConsentRecord(models.Model):
    """A speaker's consent: what was granted, when, until when, and whether it still holds."""

    speaker = models.ForeignKey("catalog.Speaker", on_delete=models.CASCADE, related_name="consent_records")
    form = models.ForeignKey(ConsentForm, null=True, blank=True, on_delete=models.PROTECT, related_name="records")
    purpose_mask = models.PositiveIntegerField(help_text="Purposes still granted (bit mask).")
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence_key = models.CharField(max_length=300, blank=True, help_text="Content-addressed storage key.")
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    evidence_content_type = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.GRANTED)
    withdrawn_mask = models.PositiveIntegerField(default=0, help_text="Purposes taken back (bit mask).")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_via = models.CharField(max_length=16, choices=WithdrawnVia.choices, blank=True)
    reason = models.TextField(blank=True, help_text="Optional; wiped on purge.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["speaker", "status"], name="consent_speaker_status"),
            models.Index(fields=["status", "expires_at"], name="consent_status_expiry"),
        ]
        ordering = ["-granted_at", "-id"]

    @property
    def purposes(self) -> list[str]:
        return mask_to_purposes(self.purpose_mask)

    @property
    def withdrawn_purposes(self) -> list[str]:
        return mask_to_purposes(self.withdrawn_mask)

    def __str__(self):
        return f"consent {self.pk} of speaker {self.speaker_id} ({self.status})"


class OnMissing(models.TextChoices):
    REJECT = "reject", "Reject the file"
    QUARANTINE = "quarantine", "Store it, unusable until consent is recorded"


def _needs(purpose: Purpose, help_text: str):
    default = PURPOSE_BITS[Purpose.STORE] | PURPOSE_BITS[purpose]
    return models.PositiveIntegerField(default=default, help_text=help_text)


class ProjectConsentPolicy(models.Model):
    """What a project needs its speakers to have granted, per use (bit masks of purposes)."""

    project = models.OneToOneField("catalog.Project", on_delete=models.CASCADE, related_name="consent_policy")
    ingest_mask = _needs(Purpose.STORE, "Needed to accept a file at all.")
    store_mask = _needs(Purpose.STORE, "Needed to list, play and process a recording.")
    annotate_mask = _needs(Purpose.ANNOTATE, "Needed to hand a recording to annotators.")
    review_mask = _needs(Purpose.REVIEW, "Needed to review its annotations.")
    train_models_mask = _needs(Purpose.TRAIN_MODELS, "Needed in a training release.")
    public_release_mask = _needs(Purpose.PUBLIC_RELEASE, "Needed in a public release.")
    commercial_mask = _needs(Purpose.COMMERCIAL, "Needed in a commercial release.")
    on_missing = models.CharField(max_length=16, choices=OnMissing.choices, default=OnMissing.QUARANTINE)
    retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Purge recordings this many days after ingest (empty: keep)."
    )
    speech_threshold = models.FloatField(
        default=0.5,
        help_text="A recording naming no speaker in which the speech detector finds speech this "
        "likely (peak probability, 0..1) is held until a manager decides.",
    )

    class Meta:
        verbose_name_plural = "project consent policies"

    def mask_for(self, purpose: str) -> int:
        return getattr(self, f"{purpose}_mask") | PURPOSE_BITS[purpose]


class RecordingWithdrawal(models.Model):
    """One recording taken back by its speaker or a manager (every purpose, at once)."""

    recording = models.OneToOneField("catalog.Recording", on_delete=models.CASCADE, related_name="withdrawal")
    consent = models.ForeignKey(ConsentRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    withdrawn_at = models.DateTimeField()
    withdrawn_via = models.CharField(max_length=16, choices=WithdrawnVia.choices)
    reason = models.TextField(blank=True)


class SpeechCheckState(models.TextChoices):
    HELD = "held", "Speech detected, no speaker named: held"
    CLEAR = "clear", "No speech detected"
    CONFIRMED = "confirmed", "A manager confirmed it holds no identifiable voice"


class SpeechCheck(models.Model):
    """The speech detector's verdict on a recording that names no speaker, and a manager's decision on it."""

    recording = models.OneToOneField("catalog.Recording", on_delete=models.CASCADE, related_name="speech_check")
    state = models.CharField(max_length=16, choices=SpeechCheckState.choices)
    speech_seconds = models.FloatField(default=0.0)
    max_probability = models.FloatField(default=0.0)
    checked_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)


class PurgeState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled (usable again)"


class RecordingPurge(models.Model):
    """A scheduled deletion of one recording's data, with its progress so a crashed run resumes.

    States and transitions (docs/consent.md, "Purges"): every withdrawal or expiry that leaves the recording
    unstorable makes it ``pending`` (a new row, or a ``cancelled`` one re-opened), due at the earlier of its
    date and now + grace; a run makes a due one ``done``, or ``cancelled`` when consent was given again.
    """

    recording = models.OneToOneField("catalog.Recording", on_delete=models.CASCADE, related_name="purge")
    reason = models.CharField(max_length=16, choices=WithdrawnVia.choices)
    due_at = models.DateTimeField()
    requested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The earliest withdrawal that asked for it; a shorter grace period counts from here.",
    )
    state = models.CharField(max_length=16, choices=PurgeState.choices, default=PurgeState.PENDING)
    steps_done = models.JSONField(default=list, blank=True)
    deleted_keys = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "due_at"], name="purge_state_due")]


class SpeakerTombstone(models.Model):
    """What stays after a speaker's data is purged: a pseudonymous code, dates and counts."""

    speaker = models.OneToOneField("catalog.Speaker", on_delete=models.CASCADE, related_name="tombstone")
    code = models.CharField(max_length=64)
    first_granted_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField()
    recordings_purged = models.PositiveIntegerField(default=0)
    consent_records = models.PositiveIntegerField(default=0)


class AuditImmutable(Exception):
    """Audit events are append-only."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditImmutable("audit events are append-only: they cannot be updated")

    def delete(self):
        raise AuditImmutable("audit events are append-only: they cannot be deleted")

    def bulk_update(self, *args, **kwargs):
        raise AuditImmutable("audit events are append-only: they cannot be updated")

    def _raw_delete(self, *args, **kwargs):
        raise AuditImmutable("audit events are append-only: they cannot be deleted")


class AuditEvent(models.Model):
    """Who did what to which object, when. Ids and actions only — never names, emails or transcripts."""

    actor_id = models.BigIntegerField(null=True, blank=True, help_text="User id; empty for the system or a speaker.")
    actor_kind = models.CharField(max_length=16, default="user")  # user | system | speaker
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    project_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["project_id", "-id"], name="audit_project_id"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutable("audit events are append-only: they cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("audit events are append-only: they cannot be deleted")

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"
