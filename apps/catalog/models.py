import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.core.leases import LeasedWork

# BCP-47 in the shape people use (RFC 5646 "langtag" without grandfathered tags):
# language[-script][-region][-variant]*[-extension]*[-x-private]
_BCP47 = re.compile(
    r"^(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})"
    r"(?:-[a-z]{4})?"
    r"(?:-(?:[a-z]{2}|\d{3}))?"
    r"(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*"
    r"(?:-[a-wyz\d](?:-[a-z\d]{2,8})+)*"
    r"(?:-x(?:-[a-z\d]{1,8})+)?$",
    re.IGNORECASE,
)


def validate_bcp47(value: str) -> None:
    if not _BCP47.match(value or ""):
        raise ValidationError(f"{value!r} is not a BCP-47 language tag (e.g. 'en', 'pt-BR', 'yue-Hant-HK').")


class Language(models.Model):
    tag = models.CharField(max_length=35, unique=True, validators=[validate_bcp47])
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["tag"]

    def __str__(self):
        return self.tag


def release_download_roles_default() -> list[str]:
    return ["manager", "exporter"]


class Project(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    target_sample_rate = models.PositiveIntegerField(default=16000)
    allowed_languages = models.ManyToManyField(Language, blank=True, related_name="+")
    require_speaker = models.BooleanField(
        default=False, help_text="Every recording must name a speaker (speech projects should)."
    )
    label_settings = models.JSONField(default=dict, blank=True)
    release_download_roles = models.JSONField(
        default=release_download_roles_default,
        blank=True,
        help_text="Project roles that may download releases (docs/roles.md); managers always may.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class AgeBand(models.TextChoices):
    UNDER_18 = "<18", "under 18"
    A18_29 = "18-29", "18–29"
    A30_44 = "30-44", "30–44"
    A45_59 = "45-59", "45–59"
    A60_PLUS = "60+", "60 and over"
    UNKNOWN = "", "not given"


class Speaker(models.Model):
    """A pseudonymous speaker; direct identifiers live in SpeakerIdentity."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="speakers")
    code = models.CharField(max_length=64, help_text="Pseudonymous code, unique in the project.")
    age_band = models.CharField(max_length=8, choices=AgeBand.choices, blank=True)
    gender = models.CharField(max_length=64, blank=True, help_text="As the speaker describes it.")
    accent = models.CharField(max_length=100, blank=True)
    native_languages = models.ManyToManyField(Language, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "code"], name="speaker_code_unique_in_project")]
        ordering = ["project_id", "code"]

    def __str__(self):
        return self.code


class SpeakerIdentity(models.Model):
    """Direct identifiers: visible to project managers only, wiped on purge."""

    speaker = models.OneToOneField(Speaker, on_delete=models.CASCADE, related_name="identity")
    full_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "speaker identities"

    def __str__(self):
        return f"identity of {self.speaker_id}"


class RecordingStatus(models.TextChoices):
    INGESTED = "ingested", "Ingested"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Processing failed"
    PURGED = "purged", "Purged"


class Recording(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="recordings")
    speaker = models.ForeignKey(Speaker, null=True, blank=True, on_delete=models.PROTECT, related_name="recordings")
    language = models.ForeignKey(Language, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    original_key = models.CharField(max_length=300, help_text="Content-addressed storage key of the original.")
    original_name = models.CharField(max_length=255, blank=True, help_text="The uploader's file name, sanitised.")
    sha256 = models.CharField(max_length=64)
    copy_sha256 = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="sha256 of a FLAC original as releases copy it (STREAMINFO and the audio frames), taken at ingest "
        "for files up to 1 MiB; empty otherwise (a build then hashes the copy itself).",
    )
    container = models.CharField(max_length=16, help_text="File format: wav, flac, ogg, aiff, mp3, mp4 or adts.")
    codec = models.CharField(
        max_length=32,
        blank=True,
        help_text="Encoding, as ffprobe names it (pcm_s16le, flac, vorbis, opus, mp3, aac, ...).",
    )
    sample_rate = models.PositiveIntegerField(help_text="Hz, as decoders deliver the stream (Opus: always 48000).")
    input_sample_rate = models.PositiveIntegerField(
        null=True, blank=True, help_text="Hz the encoder was given, where the stream records it (Opus); else empty."
    )
    channels = models.PositiveSmallIntegerField()
    frames = models.BigIntegerField()
    duration = models.FloatField(help_text="Seconds.")
    bytes = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=RecordingStatus.choices, default=RecordingStatus.INGESTED)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "sha256"], name="recording_unique_bytes_in_project")]
        indexes = [
            models.Index(fields=["project", "-id"], name="recording_project_id"),
            models.Index(fields=["project", "status", "-id"], name="recording_project_status"),
            models.Index(fields=["sha256"], name="recording_sha256"),
        ]

    def __str__(self):
        return f"recording {self.pk} ({self.original_name})"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ImportBatch(LeasedWork):
    """One import (zip, server folder, S3 prefix) with its per-file results.

    A worker claims a folder or S3 import with a lease (LeasedWork); if it dies, a sweeper re-queues the
    import and the next run resumes it: files already stored count as accepted, not as duplicates.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    source = models.CharField(max_length=16)  # upload | zip | folder | s3
    location = models.CharField(max_length=1024, blank=True)
    import_source = models.ForeignKey(
        "ImportSource",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="imports",
        help_text="The registered source (folder and S3).",
    )
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(
        default=0, help_text="Stored but held until their speaker's consent is recorded."
    )
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "import batch"
        verbose_name_plural = "import batches"

    @property
    def percent(self) -> float:
        return round(100.0 * self.processed / self.total, 1) if self.total else 0.0


class ImportSourceKind(models.TextChoices):
    S3 = "s3", "S3 bucket prefix"
    FOLDER = "folder", "Server folder"


class ImportSource(models.Model):
    """A place audio may be imported from, registered by a site administrator (issue 13).

    Imports name a source by id, never a raw bucket or path: the source carries its own credentials (an S3
    bucket, prefix, endpoint and keys that are not the platform's) or a server folder, and the projects that
    may use it. The platform's own storage bucket can never be a source (refused at registration and at use);
    two sources never overlap, so one project cannot read another's drop folder through a wider source.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=ImportSourceKind.choices)
    # S3: bucket + prefix, read with the source's own keys.
    bucket = models.CharField(max_length=63, blank=True)
    prefix = models.CharField(max_length=1024, blank=True, help_text="Objects below this prefix only.")
    endpoint_url = models.CharField(max_length=300, blank=True, help_text="Blank for AWS; MinIO's URL otherwise.")
    region_name = models.CharField(max_length=40, blank=True)
    access_key_id = models.CharField(max_length=200, blank=True)
    secret_access_key = models.CharField(max_length=200, blank=True)
    # Folder: an absolute path on the worker machines, inside EARMARK_IMPORT_ROOTS.
    path = models.CharField(max_length=1024, blank=True)
    projects = models.ManyToManyField(
        Project,
        blank=True,
        related_name="import_sources",
        help_text="The projects whose managers may import from this source.",
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def address(self) -> str:
        """Where it reads from, for people (no credentials)."""
        return f"s3://{self.bucket}/{self.prefix}" if self.kind == ImportSourceKind.S3 else self.path
