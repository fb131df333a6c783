"""{% project_processing project %}: the project's processing progress, for the catalogue's project page."""

from django import template
from django.db.models import Count, Q

from apps.processing.models import JobKind, JobStatus, ProcessingJob

register = template.Library()


@register.inclusion_tag("processing/_project_progress.html")
def project_processing(project):
    counts = ProcessingJob.objects.filter(project=project, kind=JobKind.RECORDING).aggregate(
        queued=Count("id", filter=Q(status=JobStatus.QUEUED)),
        running=Count("id", filter=Q(status=JobStatus.RUNNING)),
        failed=Count("id", filter=Q(status=JobStatus.FAILED)),
    )
    latest = ProcessingJob.objects.filter(project=project, kind=JobKind.PROJECT).order_by("-id").first()
    return {"project": project, "counts": counts, "latest": latest}
