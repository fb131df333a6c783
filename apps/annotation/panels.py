"""The annotations panel of the catalogue's recording page (recording_panels hook)."""

from django.db.models import Count

from apps.annotation.models import Annotation
from apps.core.permissions import project_role_get


def recording_annotations_panel(*, actor, recording) -> dict:
    """Every annotation of the recording: who, status, version, regions; links to open it."""
    role = project_role_get(actor, recording.project_id)
    qs = (
        Annotation.objects.filter(recording=recording)
        .select_related("annotator")
        .annotate(n_regions=Count("regions"))
        .order_by("-id")[:50]
    )
    rows = []
    for a in qs:
        link = None
        if role in ("manager", "reviewer") and a.status == "submitted":
            link = f"/annotations/{a.id}/review/"
        elif a.annotator_id == actor.id or role == "manager":
            link = f"/annotations/{a.id}/edit/"
        who = a.annotator.username if a.annotator else "—"
        rows.append(
            [
                {"text": f"#{a.id}", "url": link} if link else f"#{a.id}",
                who,
                a.get_status_display(),
                a.version,
                a.n_regions,
            ]
        )
    return {
        "order": 30,
        "title": "Annotations",
        "testid": "annotations",
        "table": {"head": ["Annotation", "Annotator", "Status", "Version", "Regions"], "rows": rows},
        "empty": "Nobody has annotated this recording yet.",
    }
