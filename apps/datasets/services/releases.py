"""Release writes other than the build: create, rebuild, withdrawal marking, downloads."""

from __future__ import annotations

import functools

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from apps.annotation.models import Label
from apps.catalog.models import Project
from apps.collection.selectors import campaign_list
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.consent.services import audit_record
from apps.core.errors import Conflict, DomainError
from apps.core.hooks import RELEASE_NEEDS_REBUILD, hook_call
from apps.datasets.formats import FORMATS
from apps.datasets.models import DatasetRelease, ReleaseItem, ReleaseStatus
from apps.datasets.services.features import features_require
from apps.datasets.services.selection import candidates_require
from apps.datasets.services.spec import RELEASE_PURPOSES, release_spec_normalise
from apps.datasets.services.storage import storage_delete_prefix
from apps.datasets.splits import SplitItem, assign_splits, empty_split_warnings

BLOCKED = (
    "Release {name!r} v{version} contains examples whose speakers withdrew consent after it was built, so it can no "
    "longer be downloaded. Build a new version (POST /api/v1/releases/{id}/rebuild/) to get the data without them; "
    "see /api/v1/releases/{id}/withdrawals for what to delete from copies you already have."
)

REASONS = {
    "consent_withdrawn": "A speaker withdrew consent for recordings in this release.",
    "consent_expired": "A speaker's consent for recordings in this release expired.",
    "retention": "Recordings in this release reached the end of the project's retention period.",
}


def _enqueue(release_id: int) -> None:
    # Tasks import these services: a module-level import cycles
    from apps.datasets.tasks import release_build_task

    transaction.on_commit(lambda: release_build_task.delay(release_id))


def release_create(*, actor, project_id: int, spec, enqueue: bool = True) -> DatasetRelease:
    """Validate the spec against the project and consent, create version N+1 (queued), enqueue its build.

    ``enqueue=False`` leaves the build to the caller (the CLI builds in its own process).
    """
    project = Project.objects.filter(id=project_id).first()
    if project is None:
        raise DomainError("No such project.", status_code=404)
    normalised = release_spec_normalise(
        spec=spec,
        project_labels=set(Label.objects.filter(project_id=project_id).values_list("name", flat=True)),
        # The project's own language tags (not every tag in the database), as the refusal says.
        project_languages=set(
            recordings_usable(None, Purpose.STORE)
            .filter(project_id=project_id)
            .exclude(language=None)
            .values_list("language__tag", flat=True)
            .distinct()
        ),
    )  # whether consent grants the purpose is the selector's answer: see candidates_require
    campaign_id = normalised["filters"].get("campaign")
    if campaign_id is not None and not campaign_list(project_id=project_id).filter(pk=campaign_id).exists():
        raise DomainError(f"Unknown campaign {campaign_id}: the project has no such collection campaign.")
    candidates = candidates_require(project_id=project_id, spec=normalised)
    warnings = split_warnings_for(candidates, normalised)
    features_require(
        project_id=project_id,
        spec=normalised,
        recordings=sorted({(c.recording_id, c.audio_sha256) for c in candidates}),
    )
    for _ in range(3):  # two managers creating at once: the unique (project, version) decides
        try:
            with transaction.atomic():
                version = (
                    DatasetRelease.objects.filter(project_id=project_id).aggregate(v=Max("version"))["v"] or 0
                ) + 1
                release = DatasetRelease.objects.create(
                    project=project,
                    version=version,
                    name=normalised["name"] or f"{project.name} release",
                    purpose=normalised["purpose"],
                    unit=normalised["unit"],
                    spec=normalised,
                    stats={"warnings": warnings},
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
                audit_record(
                    actor=actor,
                    action="release.create",
                    object_type="release",
                    object_id=release.id,
                    project_id=project_id,
                    data={"version": version},
                )
                if enqueue:
                    _enqueue(release.id)
            return release
        except IntegrityError:
            continue
    raise Conflict("Another release of this project was created at the same moment; try again.")


def split_items(candidates) -> list[SplitItem]:
    """What the split assignment reads of each candidate (or frozen item)."""
    return [
        SplitItem(
            c.key,
            c.speaker_code or None,
            tuple(c.labels),
            c.language or None,
            float(c.duration or 0.0),
            str(getattr(c, "recording_id", None) or c.recording_ref),
        )
        for c in candidates
    ]


def split_warnings_for(candidates, spec: dict) -> list[str]:
    """Sentences about requested splits that this selection would leave empty (speaker-disjoint splits)."""
    items = split_items(candidates)
    return empty_split_warnings(items, assign_splits(items, spec["splits"], seed=spec["seed"]), spec["splits"])


def release_rebuild(*, actor, release_id: int) -> DatasetRelease:
    """A new version built from the same spec (withdrawn speakers fall out through the consent selector)."""
    old = DatasetRelease.objects.get(id=release_id)
    spec = {k: v for k, v in old.spec.items()}
    spec["name"] = old.name
    return release_create(actor=actor, project_id=old.project_id, spec=spec)


def on_recordings_withdrawn(*, recording_ids: list[int], lost: dict[str, set[int]], reason: str) -> dict:
    """RECORDINGS_WITHDRAWN: flag releases holding recordings that lost their storage or a release purpose."""
    ids = sorted(set().union(*(lost[p] for p in (Purpose.STORE, *RELEASE_PURPOSES))))
    return {"releases_flagged": releases_on_withdrawal(recording_ids=ids, reason=reason) if ids else 0}


def releases_on_withdrawal(*, recording_ids: list[int], reason: str) -> int:
    """Mark releases (built or building) whose purpose these recordings lost as needing a rebuild.

    Their items are flagged withdrawn (for the withdrawals list) and their text redacted; once
    the withdrawal commits, the files of built releases are deleted from storage (downloads are
    blocked from now on, and a rebuild is a new version). Returns how many releases were newly marked.
    """
    ids = sorted({int(i) for i in recording_ids})
    if not ids:
        return 0
    now = timezone.now()
    marked = 0
    with transaction.atomic():
        affected = DatasetRelease.objects.filter(
            id__in=ReleaseItem.objects.filter(recording_ref__in=ids).values("release_id")
        ).order_by("id")
        for release in affected.select_for_update():
            # Consent may have lost a purpose this release does not need (e.g. only `commercial`).
            still = set(recordings_usable(None, release.purpose).filter(id__in=ids).values_list("id", flat=True))
            gone = [i for i in ids if i not in still]
            if not gone:
                continue
            ReleaseItem.objects.filter(release=release, recording_ref__in=gone, withdrawn_at__isnull=True).update(
                withdrawn_at=now, text=""
            )
            if not release.needs_rebuild:
                DatasetRelease.objects.filter(id=release.id).update(
                    needs_rebuild=True,
                    marked_at=now,
                    rebuild_reason=REASONS.get(reason, reason or REASONS["consent_withdrawn"]),
                )
                marked += 1
                hook_call(
                    RELEASE_NEEDS_REBUILD,
                    release_id=release.id,
                    project_id=release.project_id,
                    reason=reason or "consent_withdrawn",
                )
            if release.status == ReleaseStatus.READY:
                transaction.on_commit(functools.partial(storage_delete_prefix, release.storage_prefix))
    return marked


def release_download_check(*, release: DatasetRelease, fmt: str) -> None:
    """Raise a 4xx sentence unless ``fmt`` of ``release`` may be downloaded now (built, and consent still holds)."""
    if fmt not in FORMATS:
        raise DomainError(f"Unknown release format {fmt!r}; choose from {', '.join(FORMATS)}.", status_code=404)
    if release.status != ReleaseStatus.READY:
        raise Conflict(
            f"Release v{release.version} is {release.status}, not ready; "
            + (release.error or "wait for the build to finish.")
        )
    if fmt not in release.spec["formats"]:
        raise DomainError(
            f"Release v{release.version} was not built in the {fmt} format; it has "
            f"{', '.join(release.spec['formats'])}.",
            status_code=404,
        )
    blocked = release.needs_rebuild
    if not blocked:  # expiry needs no withdrawal event: ask the consent selector directly
        refs = ReleaseItem.objects.filter(release=release).values("recording_ref")
        wanted = ReleaseItem.objects.filter(release=release).values("recording_ref").distinct().count()
        usable = recordings_usable(None, release.purpose).filter(id__in=refs).count()
        blocked = usable != wanted
    if blocked:
        raise DomainError(BLOCKED.format(name=release.name, version=release.version, id=release.id), status_code=410)


def release_download_record(*, actor, release: DatasetRelease, fmt: str, path: str | None = None) -> None:
    """Every download is an audit event (ids only)."""
    audit_record(
        actor=actor,
        action="release.download",
        object_type="release",
        object_id=release.id,
        project_id=release.project_id,
        data={"format": fmt, **({"file": path} if path else {})},
    )


def release_files(*, release: DatasetRelease, fmt: str) -> list[tuple[str, str]]:
    """(relative path, sha256) of every file of one format, SHA256SUMS last (read from storage)."""
    from django.core.files.storage import default_storage

    key = f"{release.storage_prefix}{fmt}/SHA256SUMS"
    with default_storage.open(key, "rb") as fh:
        lines = fh.read().decode().splitlines()
    files = [(line.split("  ", 1)[1], line.split("  ", 1)[0]) for line in lines if "  " in line]
    return files + [("SHA256SUMS", "")]
