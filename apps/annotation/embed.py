"""The item as the queue hands it out (``queue_next_body``: ``queue/next/``'s answer and the annotator page's first
item), with its peaks at the first zoom level embedded. The annotator then draws the item without asking the peaks
endpoint: one round trip for the item, one for its audio.

The peaks are read exactly as the peaks endpoint reads them (the recording through its consent selector with the
streaming rule, then the artifact found by the recording's bytes) and audited like a peaks request, with the route
that embedded them.
"""

import base64

from django.core.files.storage import default_storage
from django.http import Http404

from apps.annotation import services
from apps.annotation.models import AnnotationSettings
from apps.annotation.serializers import AnnotationOutput
from apps.catalog.serializers import RecordingOutput
from apps.catalog.streaming import CONTENT_TYPES, storage_is_remote
from apps.consent.purposes import Purpose
from apps.consent.selectors import recording_get_usable
from apps.consent.services.audit import audit_record
from apps.processing.selectors import artifact_get, peaks_for

# The level embedded: the finest that fits this many buckets. The bundle asks for about 4 buckets per pixel of
# waveform width (2,000-16,000); 6,000 covers a 1,500 px wide waveform, and zooming in fetches finer levels.
EMBED_PEAKS_MAX_LENGTH = 6000
# Originals up to this size go into the page itself, as the first item's <audio> source (a data: URI, a third
# larger than the file): the element can play without a request of its own, whose round trip (a consent check
# and an audit write on the server) was most of a short clip's wait for canplay (benchmarks/annotator_load.py).
EMBED_AUDIO_MAX_BYTES = 1024 * 1024


def item_recording_and_peaks(*, user, recording_id, role: str | None = None):
    """(recording, peaks artifact) as the peaks endpoint finds them, or (None, None) while the recording has no
    peaks or when ``user`` may not stream it (the endpoint's 404). ``role``: the user's role in the recording's
    project, when the caller has just read it (``recording_get_usable``)."""
    try:
        recording = recording_get_usable(user, Purpose.STORE, recording_id, stream=True, role=role)
        return recording, artifact_get(recording=recording, kind="peaks")
    except Http404:
        return None, None


def peaks_embedded(*, user, recording, artifact, route: str) -> dict:
    """The peaks endpoint's answer at ``EMBED_PEAKS_MAX_LENGTH`` (``recordings/{rid}/peaks?max_length=6000``), with
    the audit event a peaks request writes (apps.consent.middleware), ``route`` naming where they went."""
    peaks = peaks_for(artifact=artifact)
    _audit_served(user, recording, route)
    return {**peaks.best(EMBED_PEAKS_MAX_LENGTH).to_audiowaveform_json(), "duration": peaks.duration}


def item_peaks(*, user, recording_id, route: str) -> dict | None:
    """The embedded peaks of one recording, or None (no peaks yet, or not the caller's to stream)."""
    recording, artifact = item_recording_and_peaks(user=user, recording_id=recording_id)
    if artifact is None:
        return None
    return peaks_embedded(user=user, recording=recording, artifact=artifact, route=route)


def queue_next_body(
    *,
    user,
    project_id,
    progress: bool = True,
    peaks: bool = True,
    settings: AnnotationSettings | None = None,
    role: str | None = None,
) -> dict | None:
    """The queue's answer (claims the item like ``queue/next/``); the annotator page embeds the same body.

    ``progress=False`` (the page) leaves the counts out: they cost about as much CPU as the claim itself, and
    the page asks ``queue/progress/`` for them once the item is drawn and playable. ``peaks`` adds the
    recording's peaks at the first zoom level as the peaks endpoint answers them (``item_peaks``: its consent
    selector, its audit), or null when there are none yet; the page (``peaks=False``) reads them
    itself, after it has sent the item's audio element. ``settings`` and ``role``: what the page has read already
    (``queue_next_item``).
    """
    found = services.queue_next_item(project_id=project_id, user=user, progress=progress, settings=settings, role=role)
    if found is None:
        return None
    annotation, recording, counts = found
    body: dict = {"annotation": AnnotationOutput(annotation).data, "recording": RecordingOutput(recording).data}
    if progress:
        body["progress"] = counts
    if peaks:
        body["peaks"] = item_peaks(user=user, recording_id=recording.pk, route="annotation-queue-next")
    return body


def audio_embedded(*, user, recording, route: str) -> str | None:
    """The original of ``recording`` (read through the streaming consent selector, as ``item_recording_and_peaks``
    does) as a ``data:`` URI, with the audit event an audio request writes; None when it is larger than
    ``EMBED_AUDIO_MAX_BYTES`` or lives on remote storage (there the audio endpoint redirects to a presigned URL:
    the page's server does not proxy those bytes)."""
    if recording.bytes > EMBED_AUDIO_MAX_BYTES or storage_is_remote():
        return None
    with default_storage.open(recording.original_key, "rb") as fh:
        data = fh.read(EMBED_AUDIO_MAX_BYTES + 1)
    if len(data) > EMBED_AUDIO_MAX_BYTES:
        return None
    _audit_served(user, recording, route, bytes=len(data))
    content_type = CONTENT_TYPES.get(recording.container, "application/octet-stream")
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"


def _audit_served(user, recording, route: str, **data) -> None:
    """The audit event a request for the recording's audio or peaks writes (apps.consent.middleware), ``route``
    naming where the embedded bytes went."""
    audit_record(
        actor=user,
        action="recording.served",
        object_type="recording",
        object_id=recording.pk,
        project_id=recording.project_id,
        data={"route": route, "status": 200, **data},
    )
