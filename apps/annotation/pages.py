"""The annotator page: markup from the template, behaviour from the static bundle, data from the API.

The page also embeds its first item (json_script ``annotator-first``): the queue's answer (or the named
annotation), its recording, the label schema and the peaks at the first zoom level, so a short clip is drawn
with one round trip for the page and one for the audio. Every piece comes from the same selectors and
serializers as its API endpoint (consent decides each), and the embedded peaks are audited like a peaks
request. Anything that cannot be embedded (no peaks yet, an empty queue) is left out and the bundle asks the
API as before.

The page is streamed in two parts. The first (head, styles, the bundle's script tag and the page's markup) is
sent before the first item is built, so the browser fetches the bundle and the styles and lays the page out
while the server claims the item; the second (the first item's <audio> element and its json_script) follows.
Permissions are decided before the first byte: a refusal is still a 403/404 page.
"""

import logging
import os

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from apps.annotation.embed import audio_embedded, item_recording_and_peaks, peaks_embedded, queue_next_body
from apps.annotation.selectors import ANNOTATE_ROLES, annotation_get, annotation_settings_get, labels_schema
from apps.annotation.serializers import AnnotationOutput
from apps.catalog.selectors import recording_get_visible
from apps.catalog.serializers import RecordingOutput
from apps.core.permissions import project_role_get

# The audit route of the peaks the page embeds.
PAGE_PEAKS_ROUTE = "annotator-page-peaks"
# The audit route of the audio the page embeds (short clips: embed.EMBED_AUDIO_MAX_BYTES).
PAGE_AUDIO_ROUTE = "annotator-page-audio"
# Recordings up to this size preload whole (preload="auto"); longer ones load their metadata only.
EMBED_AUDIO_PRELOAD_BYTES = 8 * 1024 * 1024
# Where the page's first part ends: the template renders this (review pages render nothing there).
_EMBED_SLOT = "<!-- annotator-first -->"

# The annotate pages carry their style sheets inline (site.css, then the annotator's): two requests fewer, and
# the bundle (a deferred script, which waits for the style sheets before it) waits for none. ~18 KB.
INLINE_STYLES = ("earmark/site.css", "annotation/annotator.css")

logger = logging.getLogger(__name__)
_styles_cache: dict[tuple, str] = {}


def _inline_styles() -> str:
    """The style sheets' text, read again only when a file changes (a rebuild while the server runs)."""
    paths = [finders.find(name) for name in INLINE_STYLES]
    key = tuple((path, os.stat(path).st_mtime_ns) for path in paths)
    if key not in _styles_cache:
        _styles_cache.clear()
        texts = []
        for path in paths:
            with open(path, encoding="utf-8") as fh:
                texts.append(fh.read())
        _styles_cache[key] = "\n".join(texts)
    return _styles_cache[key]


def _first_item(request, *, project_id, settings, role, annotation=None, visible=None):
    """(item, recording, peaks artifact): the queue's body without its progress counts and peaks, or
    {annotation, recording} (None when the queue is empty); the recording through the peaks endpoint's consent
    selector and its peaks artifact (both None while there are no peaks, or when the caller may not stream the
    recording). The bundle asks for the progress once the item is drawn and playable. ``role`` (the user's role
    in the project, or None when the view did not read it) and ``settings`` are not read again."""
    if annotation is None:
        item = queue_next_body(
            user=request.user, project_id=project_id, progress=False, peaks=False, settings=settings, role=role
        )
    else:
        item = {"annotation": AnnotationOutput(annotation).data, "recording": RecordingOutput(visible).data}
    if not item:
        return None, None, None
    return item, *item_recording_and_peaks(user=request.user, recording_id=item["recording"]["id"], role=role)


def _first_audio(request, item, recording) -> dict:
    """The first item's <audio> element, in the page's HTML so the browser loads it while the bundle loads. A
    short clip carries its bytes (a data: URI: no request at all); longer recordings point at the audio endpoint,
    whole-file preload up to EMBED_AUDIO_PRELOAD_BYTES (playable as soon as possible), metadata only beyond
    (streamed with range requests as playback needs). Only for an item the page can draw at once."""
    rec = item["recording"]
    small = (rec.get("bytes") or 0) <= EMBED_AUDIO_PRELOAD_BYTES
    inline = audio_embedded(user=request.user, recording=recording, route=PAGE_AUDIO_ROUTE) if small else None
    return {
        "id": rec["id"],
        "url": inline or reverse("recording-audio", args=[rec["id"]]),
        "preload": "auto" if small else "metadata",
    }


def _render(request, *, project_id, role=None, annotation=None, visible=None):
    config = {
        "project_id": project_id,
        "annotation_id": annotation.id if annotation is not None else None,
        "mode": "annotate",
        "api_base": "/api/v1",
        "csrf_token": get_token(request),
        "user_id": request.user.id,
        "next_url": reverse("catalog:project-detail", args=[project_id]),
    }
    # Rendered now, in the view: the CSRF cookie, the CSP nonce and the messages are settled before the
    # response's headers go out.
    context = {"config": config, "embed_slot": mark_safe(_EMBED_SLOT), "inline_styles": _inline_styles()}
    page = render_to_string("annotation/annotator.html", context, request=request)
    head, tail = page.split(_EMBED_SLOT)

    def parts():
        yield head
        yield from _embed_html(request, project_id=project_id, role=role, annotation=annotation, visible=visible)
        yield tail

    return StreamingHttpResponse(parts(), content_type="text/html; charset=utf-8")


def _embed_html(request, *, project_id, role, annotation, visible):
    """The page's second part, in two pieces: the first item's <audio> element as soon as the item is known (the
    parser inserts it and its request starts while the server reads the peaks), then the item's json_script.
    The headers and the first part are already sent, so a failure here cannot become an error page: it is
    logged and the rest of the embed left out, and the bundle asks the API for what is missing (the API
    answers an error with a status the page shows). The project's annotation settings are read once, for the
    queue's claim and the label schema."""
    try:
        settings = annotation_settings_get(project_id)
        item, recording, artifact = _first_item(
            request, project_id=project_id, settings=settings, role=role, annotation=annotation, visible=visible
        )
        if artifact is not None:
            audio = _first_audio(request, item, recording)
            yield render_to_string("annotation/annotator_first.html", {"first_audio": audio})
        peaks = None
        if artifact is not None:
            peaks = peaks_embedded(user=request.user, recording=recording, artifact=artifact, route=PAGE_PEAKS_ROUTE)
        first = {"labels": labels_schema(project_id, settings=settings), "item": item, "peaks": peaks}
    except Exception:
        logger.exception("annotator page: the first item could not be embedded (project %s)", project_id)
        return
    yield render_to_string("annotation/annotator_first.html", {"first_item": first})


@login_required
def annotate_page(request, project_id):
    role = project_role_get(request.user, project_id)
    if role is None:
        raise Http404("No such project.")
    if role not in ANNOTATE_ROLES:
        raise PermissionDenied("Annotating needs the annotator or manager role in this project.")
    return _render(request, project_id=project_id, role=role)


@login_required
def annotation_edit_page(request, annotation_id):
    annotation = annotation_get(request.user, annotation_id, for_edit=True)
    # Read before the first byte goes out, so a recording the user may no longer see is still a 404 page.
    visible = recording_get_visible(actor=request.user, recording_id=annotation.recording_id)
    return _render(request, project_id=annotation.project_id, annotation=annotation, visible=visible)
