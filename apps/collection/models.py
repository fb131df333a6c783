"""Collection campaigns: prompts read aloud in the browser by pseudonymous contributors, validated by listeners.

A contributor is a catalogue Speaker with a consent record made at the source (apps/consent); each clip is a
Recording ingested through the catalogue's normal path, with the prompt as its transcript (apps/annotation).
These tables hold only what the campaign adds: prompts, quotas and targets, links and invite codes, which
clip answers which prompt, and the listeners' votes.
"""

from django.conf import settings
from django.db import models


class Campaign(models.Model):
    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Shown to contributors above the consent form.")
    consent_form = models.ForeignKey("consent.ConsentForm", on_delete=models.PROTECT, related_name="+")
    purposes_asked = models.JSONField(default=list, help_text="Purposes the contributor is asked for (store first).")
    purposes_required = models.JSONField(
        default=list, help_text="Purposes a contributor must tick to record at all (store, always)."
    )
    ui_language = models.CharField(max_length=16, default="en", help_text="The contributor page's language.")
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    public_token = models.CharField(
        max_length=64, blank=True, help_text="The public link's secret; empty: invite only."
    )
    public_max_contributors = models.PositiveIntegerField(null=True, blank=True)
    clips_per_prompt = models.PositiveIntegerField(default=5, help_text="Clips wanted per prompt (then skipped).")
    clips_per_contributor = models.PositiveIntegerField(default=100, help_text="A contributor's cap.")
    targets = models.JSONField(
        default=dict,
        blank=True,
        help_text='Clips wanted per value: {"language": {"en": 500}, "accent": {...}, "age_band": {...}, '
        '"gender": {...}}.',
    )
    votes_needed = models.PositiveSmallIntegerField(default=2, help_text="Agreeing votes that settle a clip.")
    link_joins_per_hour = models.PositiveIntegerField(default=60, help_text="New contributors per link per hour.")
    contributor_clips_per_minute = models.PositiveIntegerField(default=20)
    max_clip_seconds = models.FloatField(default=20.0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["public_token"], condition=~models.Q(public_token=""), name="campaign_public_token_unique"
            )
        ]

    def __str__(self):
        return self.name


class Prompt(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="prompts")
    key = models.CharField(max_length=100, help_text="The prompt id from the imported file.")
    language = models.ForeignKey("catalog.Language", on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    tags = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["campaign_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "key"], name="prompt_key_unique_in_campaign")]

    def __str__(self):
        return f"{self.key}: {self.text[:40]}"


class InviteCode(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(max_length=64, unique=True)
    max_contributors = models.PositiveIntegerField(default=1)
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)


class Contributor(models.Model):
    """One person recording for a campaign, pseudonymous: the speaker code is all the campaign knows."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contributors")
    speaker = models.OneToOneField("catalog.Speaker", on_delete=models.PROTECT, related_name="contributor")
    consent = models.ForeignKey("consent.ConsentRecord", on_delete=models.PROTECT, related_name="+")
    invite = models.ForeignKey(InviteCode, null=True, blank=True, on_delete=models.PROTECT, related_name="uses")
    language = models.CharField(max_length=35, blank=True, help_text="The prompts' language they chose to read.")
    secret_sha256 = models.CharField(max_length=64, unique=True, help_text="Hash of the contributor's session key.")
    evidence = models.JSONField(default=dict, help_text="What was shown and ticked: form version, sha256, choices.")
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["campaign", "created_at"], name="contributor_campaign_created")]


class ClipState(models.TextChoices):
    PENDING = "pending", "Waiting for votes"
    VALIDATED = "validated", "Validated"
    INVALIDATED = "invalidated", "Invalidated"
    DISPUTED = "disputed", "Listeners disagree: in review"
    VOIDED = "voided", "Voided with its contributor"


class Clip(models.Model):
    """A recording made for a campaign: its provenance (campaign, prompt, contributor) and its validation."""

    contributor = models.ForeignKey(Contributor, on_delete=models.PROTECT, related_name="clips")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="clips")
    recording = models.OneToOneField("catalog.Recording", on_delete=models.CASCADE, related_name="campaign_clip")
    annotation = models.ForeignKey(
        "annotation.Annotation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    upload_key = models.CharField(max_length=64, help_text="The browser's idempotency key for this upload.")
    state = models.CharField(max_length=16, choices=ClipState.choices, default=ClipState.PENDING)
    up_votes = models.PositiveIntegerField(default=0)
    down_votes = models.PositiveIntegerField(default=0)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contributor", "upload_key"], name="clip_upload_once"),
            models.UniqueConstraint(fields=["contributor", "prompt"], name="clip_one_per_prompt_per_contributor"),
        ]
        indexes = [models.Index(fields=["prompt", "state"], name="clip_prompt_state")]


class Vote(models.Model):
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    matches = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clip", "voter"], name="vote_once_per_clip")]


class Listener(models.Model):
    """A signed-in volunteer a project admits to validate its campaigns' clips (no other project role)."""

    project = models.ForeignKey("catalog.Project", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    admitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="listener_once_per_project")]
