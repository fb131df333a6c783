"""Reads with rules: which releases a user may see, their manifests and withdrawals."""

from django.db.models import Count, QuerySet
from django.http import Http404

from apps.accounts.selectors import project_ids_for
from apps.annotation.models import Annotation, AnnotationStatus
from apps.catalog.models import RecordingStatus
from apps.consent.purposes import Purpose
from apps.consent.selectors import recordings_usable
from apps.core.permissions import ANYONE, project_role_require
from apps.datasets.models import DatasetRelease, ReleaseItem, ReleaseStatus
from apps.review.selectors import recordings_exclude_qa_flagged


def release_list(*, actor, project_id: int) -> QuerySet:
    """A project's releases, newest first (404/403 through the role check)."""
    project_role_require(actor, project_id, ANYONE)
    return DatasetRelease.objects.filter(project_id=project_id).order_by("-id")


def release_get(*, actor, release_id: int, roles=ANYONE) -> DatasetRelease:
    """One release the actor's project role allows; 404 for missing and for other projects alike."""
    ids = project_ids_for(actor, ANYONE)
    qs = DatasetRelease.objects.select_related("project")
    if ids is not None:
        qs = qs.filter(project_id__in=ids)
    release = qs.filter(id=release_id).first()
    if release is None:
        raise Http404("No such release.")
    project_role_require(actor, release.project_id, roles)
    return release


def release_manifest(*, release: DatasetRelease) -> QuerySet:
    """The frozen items whose recordings are still usable for the release's purpose (withdrawn ones drop out)."""
    usable = recordings_usable(None, release.purpose).filter(project_id=release.project_id).values("id")
    return ReleaseItem.objects.filter(release=release, withdrawn_at__isnull=True, recording_ref__in=usable)


def release_withdrawals(*, release: DatasetRelease, since=None) -> QuerySet:
    """Items withdrawn after the build (optionally since a moment), oldest first."""
    qs = ReleaseItem.objects.filter(release=release, withdrawn_at__isnull=False)
    if since is not None:
        qs = qs.filter(withdrawn_at__gte=since)
    return qs.order_by("withdrawn_at", "key")


EXCLUSIONS_SHOWN = 500


def release_exclusions(*, actor, release: DatasetRelease) -> list[dict]:
    """The project's recordings (as the actor may see them) that the built release left out, each with why.

    Reasons are checked in the order the build applies its rules: consent for the release's purpose,
    processing, the spec's filters (language, dates, QA), annotation, then labels and durations.
    At most ``EXCLUSIONS_SHOWN`` rows, oldest first.
    """
    spec, f = release.spec, release.spec["filters"]
    included = ReleaseItem.objects.filter(release=release).values("recording_ref")
    seen = (
        recordings_usable(actor, Purpose.STORE)
        .filter(project_id=release.project_id)
        .exclude(id__in=included)
        .select_related("language")
        .order_by("id")
    )
    rows = list(
        seen.values("id", "original_name", "status", "language__tag", "created_at", "duration")[:EXCLUSIONS_SHOWN]
    )
    ids = [r["id"] for r in rows]
    granted = set(recordings_usable(None, release.purpose).filter(id__in=ids).values_list("id", flat=True))
    held = recordings_usable(None, Purpose.STORE).filter(id__in=ids)
    kept_by_qa = set(recordings_exclude_qa_flagged(held).values_list("id", flat=True))
    statuses = (
        [AnnotationStatus.ACCEPTED] if f["accepted_only"] else [AnnotationStatus.ACCEPTED, AnnotationStatus.SUBMITTED]
    )
    annotated = set(
        Annotation.objects.filter(recording_id__in=ids, status__in=statuses).values_list("recording_id", flat=True)
    )
    out = []
    for r in rows:
        if r["created_at"] > release.created_at:
            why = "added after this release was built"
        elif r["id"] not in granted:
            why = f"its speaker has not granted (or withdrew) {release.purpose.replace('_', ' ')}"
        elif r["status"] == RecordingStatus.FAILED:
            why = "processing failed"
        elif spec["audio"].get("source") == "recipe" and r["status"] != RecordingStatus.READY:
            why = "not processed yet (the release uses processed audio)"
        elif f["languages"] and r["language__tag"] not in f["languages"]:
            why = f"language {r['language__tag'] or 'not given'} is not among {', '.join(f['languages'])}"
        elif r["id"] not in kept_by_qa and f["qa"] == "exclude_flagged":
            why = "flagged by automatic QA"
        elif r["id"] not in annotated and (f["accepted_only"] or spec["unit"] == "region"):
            why = "no annotation accepted in review" if f["accepted_only"] else "no submitted annotation"
        elif spec["unit"] == "recording" and not _in(r["duration"], f):
            why = f"its duration ({r['duration']:.1f} s) is outside the requested range"
        else:
            why = "no labelled region or label matches the filters"
        out.append({"id": r["id"], "name": r["original_name"], "reason": why})
    return out


def _in(duration: float, f: dict) -> bool:
    return not (
        (f["min_duration"] is not None and duration < f["min_duration"])
        or (f["max_duration"] is not None and duration > f["max_duration"])
    )


def storage_owners() -> list:
    """The storage_owners hook: files under releases/<project>/<release>/ belong to a release being built or
    ready; a failed or deleted release's files are orphans."""

    def owned(keys: list[str]) -> set[str]:
        ids = {}
        for key in keys:
            parts = key.split("/")
            if len(parts) > 3 and parts[2].isdigit():
                ids[key] = int(parts[2])
        live = set(
            DatasetRelease.objects.filter(id__in=set(ids.values()))
            .exclude(status=ReleaseStatus.FAILED)
            .values_list("id", flat=True)
        )
        return {key for key, release_id in ids.items() if release_id in live}

    return [("releases/", owned)]


def releases_metrics() -> list[tuple[str, str, list]]:
    """Gauges for /metrics (metrics_gauges hook): releases by status."""
    rows = DatasetRelease.objects.values("status").annotate(n=Count("id"))
    return [("earmark_releases", "Dataset releases by status.", [({"status": r["status"]}, r["n"]) for r in rows])]
