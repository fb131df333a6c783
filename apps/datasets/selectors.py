"""Reads with rules: which releases a user may see, their manifests and withdrawals."""

from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.selectors import project_ids_for
from apps.consent.selectors import recordings_usable
from apps.core.permissions import ANYONE, project_role_require
from apps.datasets.models import DatasetRelease, ReleaseItem


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
