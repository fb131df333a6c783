"""Every response that may carry a recording's audio or derived data: never cached, always audited.

- ``Cache-Control: private, no-store`` on every response Django renders (static files are served before this
  by WhiteNoise): a browser or proxy that kept withdrawn audio, peaks or transcripts could replay them after
  the withdrawal, when the selector would refuse them.
- An audit event for every successful request naming a recording (audio, peaks, features, spectrograms,
  tiles, suggestions, details), whatever its Range header: a suffix (``bytes=-N``) or open (``bytes=N-``)
  range is a download like any other. The event holds ids, the route, the status and the byte range only.
"""

import re

from apps.catalog.models import Recording
from apps.consent.services.audit import audit_record

NO_STORE = "private, no-store"
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class ServedDataMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["Cache-Control"] = NO_STORE
        match = getattr(request, "resolver_match", None)
        if (
            match is not None
            and "recording_id" in match.kwargs
            and request.method in ("GET", "HEAD")
            and (200 <= response.status_code < 300 or response.status_code == 302)
        ):
            _audit(request, match, response)
        return response


def _audit(request, match, response) -> None:
    recording_id = match.kwargs["recording_id"]
    data = {"route": match.url_name or "", "status": response.status_code}
    if response.has_header("Content-Range"):
        found = _CONTENT_RANGE.match(response["Content-Range"])
        if found:
            data.update(range_start=int(found[1]), range_end=int(found[2]), size=int(found[3]))
    if response.has_header("Content-Length"):
        data["bytes"] = int(response["Content-Length"])
    if "kind" in match.kwargs:
        data["kind"] = str(match.kwargs["kind"])
    user = getattr(request, "user", None)
    project_id = Recording.objects.filter(pk=recording_id).values_list("project_id", flat=True).first()
    audit_record(
        actor=user if getattr(user, "is_authenticated", False) else None,
        action="recording.served",
        object_type="recording",
        object_id=recording_id,
        project_id=project_id,
        data=data,
    )
