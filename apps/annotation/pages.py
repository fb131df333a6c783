"""The annotator page: markup from the template, behaviour from the static bundle, data from the API.

The page also embeds its first item (json_script ``annotator-first``): the queue's answer (or the named
annotation), its recording, the label schema and the peaks at the first zoom level, so a short clip is drawn
with one round trip for the page and one for the audio. Every piece comes from the same selectors and
serializers as its API endpoint (consent decides each), and the embedded peaks are audited like a peaks
request. Anything that cannot be embedded (no peaks yet, an empty queue) is left out and the bundle asks the
API as before.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse

from apps.annotation.selectors import ANNOTATE_ROLES, annotation_get, labels_schema
from apps.annotation.serializers import AnnotationOutput
from apps.annotation.views import queue_next_body
from apps.catalog.selectors import recording_get_visible
from apps.catalog.serializers import RecordingOutput
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.consent.services.audit import audit_record
from apps.core.permissions import project_role_get
from apps.processing.selectors import peaks_json

# The peaks level embedded for the first paint: the finest that fits this many buckets. The bundle asks for
# about 4 buckets per pixel of waveform width (2,000-16,000); 6,000 covers a 1,500 px wide waveform, and
# zooming in fetches finer levels as before.
EMBED_PEAKS_MAX_LENGTH = 6000
# Recordings up to this size preload whole (preload="auto"); longer ones load their metadata only.
EMBED_AUDIO_PRELOAD_BYTES = 8 * 1024 * 1024


def _first_peaks(request, recording_id) -> dict | None:
    """The peaks the bundle would ask for first, through the peaks endpoint's selectors; None while there are
    none (still processing) or when the caller may not stream this recording."""
    try:
        recording = recording_get_usable(request.user, Purpose.STORE, recording_id, stream=True)
        peaks = peaks_json(recording=recording, max_length=EMBED_PEAKS_MAX_LENGTH)
    except Http404:
        return None
    # The same audit event a peaks request writes (apps.consent.middleware): ids, route, status only.
    audit_record(
        actor=request.user,
        action="recording.served",
        object_type="recording",
        object_id=recording.pk,
        project_id=recording.project_id,
        data={"route": "annotator-page-peaks", "status": 200},
    )
    return peaks


def _first_item(request, *, project_id, annotation=None) -> dict:
    """{"labels", "item": the queue's body without its progress counts, or {annotation, recording} (None when the
    queue is empty), "peaks"}. The bundle asks for the progress once the item is drawn and playable."""
    if annotation is None:
        item = queue_next_body(user=request.user, project_id=project_id, progress=False)
    else:
        recording = recording_get_visible(actor=request.user, recording_id=annotation.recording_id)
        item = {"annotation": AnnotationOutput(annotation).data, "recording": RecordingOutput(recording).data}
    peaks = _first_peaks(request, item["recording"]["id"]) if item else None
    return {"labels": labels_schema(project_id), "item": item, "peaks": peaks}


def _first_audio(first: dict) -> dict | None:
    """The first item's <audio> element, in the page's HTML so the browser starts its request while the bundle
    loads. Whole-file preload for short recordings (playable as soon as possible); metadata only for long
    ones (streamed with range requests as playback needs). Only for an item the page can draw at once."""
    if not first.get("peaks"):
        return None
    recording = first["item"]["recording"]
    small = (recording.get("bytes") or 0) <= EMBED_AUDIO_PRELOAD_BYTES
    return {
        "id": recording["id"],
        "url": reverse("recording-audio", args=[recording["id"]]),
        "preload": "auto" if small else "metadata",
    }


def _render(request, *, project_id, annotation=None):
    config = {
        "project_id": project_id,
        "annotation_id": annotation.id if annotation is not None else None,
        "mode": "annotate",
        "api_base": "/api/v1",
        "csrf_token": get_token(request),
        "user_id": request.user.id,
        "next_url": reverse("catalog:project-detail", args=[project_id]),
    }
    first = _first_item(request, project_id=project_id, annotation=annotation)
    return render(
        request,
        "annotation/annotator.html",
        {"config": config, "first_item": first, "first_audio": _first_audio(first)},
    )


@login_required
def annotate_page(request, project_id):
    role = project_role_get(request.user, project_id)
    if role is None:
        raise Http404("No such project.")
    if role not in ANNOTATE_ROLES:
        raise PermissionDenied("Annotating needs the annotator or manager role in this project.")
    return _render(request, project_id=project_id)


@login_required
def annotation_edit_page(request, annotation_id):
    annotation = annotation_get(request.user, annotation_id, for_edit=True)
    return _render(request, project_id=annotation.project_id, annotation=annotation)
