"""The leak test: walk EVERY URL pattern of the project and prove a withdrawn or expired speaker's data leaves none.

URL patterns come from the resolver (not a hand-kept list); path parameters are filled from PARAMS, and a
pattern with a parameter PARAMS does not know fails the test, so a new endpoint cannot slip past unchecked.
Each path is requested as a manager, an annotator and a reviewer (GET; POST too for `.../next/` queues),
and no response may contain the excluded recordings' ids, original audio bytes, transcripts, or any
fingerprint of what their recording-scoped endpoints (peaks, features, images, processed audio) returned
before the withdrawal. ``test_walker_catches_a_leaky_view`` proves it fails when a view bypasses the selector.
"""

import itertools
import json
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, get_resolver, include, path
from django.utils import timezone

from tests.conftest import make_audio

pytestmark = pytest.mark.django_db

W_ID, E_ID, K_ID = 900001, 900002, 900003  # unusual ids: any appearance is meaningful, never a coincidence
ROLES = ("manager", "annotator", "reviewer")
# The only paths allowed to name excluded recordings' ids (everything else is still checked on them):
# the audit log is the proof of withdrawal and purge and keeps object ids by design (never personal data);
# a release's withdrawals list exists to tell people who downloaded it which example keys to delete.
IDS_ALLOWED = {
    r"^/api/v1/audit/$": "audit log: ids are the proof",
    r"^/api/v1/releases/\d+/withdrawals$": "downstream deletion list: the keys to delete",
    # webhooks tell subscribers by id which recordings were withdrawn (ids only, never personal data)
    r"^/api/v1/webhooks/\d+/deliveries/$": "webhook deliveries: withdrawn recording ids, by design",
    r"^/webhooks/\d+/$": "webhook deliveries page: the same bodies",
    # a release diff lists examples removed because their speaker withdrew: keys to delete, as the withdrawals list
    r"^/api/v1/releases/\d+/diff/\d+$": "release diff: withdrawn example keys, by design",
    r"^/releases/\d+/diff/\d+/$": "release diff page: the same keys",
    r"^/metrics/?$": "Prometheus metrics: counts, sums and latency buckets, whose numbers can equal an id",
}


def _ids_allowed(url: str) -> bool:
    return any(re.match(pattern, url) for pattern in IDS_ALLOWED)


# Regex-only patterns that need no walking here: the admin (staff only; our users are not staff) and static files.
SKIP_REGEX = re.compile(r"^(admin/|static/|media/)")


def _patterns(resolver=None, prefix=""):
    """Every (route template, pattern) pair, recursively."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def _expand(route: str, params: dict) -> list[str] | None:
    """Concrete paths for a route template; None for regex routes we do not walk."""
    if SKIP_REGEX.match(route.lstrip("^")):
        return []
    if "(?P<" in route or route.startswith("^"):
        return None
    names = [m.group("name") for m in _PARAM.finditer(route)]
    missing = [n for n in names if n not in params]
    if missing:
        raise AssertionError(f"{route}: add {', '.join(missing)} to PARAMS in tests/test_leak.py")
    paths = []
    for combo in itertools.product(*(params[n] for n in names)):
        values = iter(combo)
        paths.append("/" + _PARAM.sub(lambda m, values=values: str(next(values)), route))
    return paths


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        data = b"".join(response.streaming_content)
    else:
        data = response.content
    for closer in getattr(response, "_resource_closers", []):  # not response.close(): that closes the test DB
        closer()
    return data


def _request(client, method, url, query):
    if method == "GET":
        return client.get(url, query)
    return client.post(url, {}, format="json")


def walk(clients: dict, params: dict, query: dict, urlconf=None) -> list[tuple[str, str, str, int, bytes]]:
    """Request every expanded path with every client; returns (role, method, url, status, body)."""
    out, unwalked, cached = [], [], []
    for route, _pattern in _patterns(get_resolver(urlconf)):
        paths = _expand(route, params)
        if paths is None:
            unwalked.append(route)
            continue
        methods = ["GET", "POST"] if route.endswith("next/") else ["GET"]
        for url, role, method in itertools.product(paths, clients, methods):
            response = _request(clients[role], method, url, query)
            if response.get("Cache-Control") != "private, no-store":  # a cache could replay withdrawn data
                cached.append(f"{method} {url}: Cache-Control {response.get('Cache-Control')!r}")
            out.append((role, method, url, response.status_code, _body(response)))
    assert not unwalked, f"regex URL patterns the leak test cannot fill (use path() or teach _expand): {unwalked}"
    assert not cached, "responses a browser or proxy may cache:\n" + "\n".join(sorted(set(cached)))
    return out


def leaks(responses, forbidden: dict[str, list[bytes]]) -> list[str]:
    """Which responses contain which forbidden thing."""
    found = []
    for role, method, url, status, body in responses:
        for what, needles in forbidden.items():
            if what == "recording ids" and _ids_allowed(url):
                continue
            if any(n in body for n in needles):
                found.append(f"{role} {method} {url} ({status}) leaks {what}")
    return found


def _ids_in_json(body: bytes, ids: set[int]) -> bool:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return False
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, (int, str)) and not isinstance(item, bool) and str(item) in {str(i) for i in ids}:
            return True
    return False


# --- the world -----------------------------------------------------------------------------------------------


def _recording(project, speaker, pk, seed):
    from tests.catalog.factories import RecordingFactory

    data = make_audio(seconds=1.0, seed=seed, freq=220.0 * seed)
    rec = RecordingFactory(id=pk, project=project, speaker=speaker, bytes=len(data), frames=16000, duration=1.0)
    default_storage.save(rec.original_key, ContentFile(data))
    return rec, data


def _process(recordings, capture):
    """Run the real processing pipeline (peaks, features, images) so derived data exists to leak."""
    from apps.processing.services import recording_queue_processing

    with capture(execute=True):
        for rec in recordings:
            recording_queue_processing(recording=rec)


def _annotate(rec, user, secret):
    from apps.annotation.models import (
        Annotation,
        AnnotationVersion,
        Assignment,
        Label,
        Region,
    )

    label = Label.objects.get_or_create(project=rec.project, kind="region", name="speech")[0]
    Assignment.objects.create(
        project=rec.project,
        recording=rec,
        annotator=user,
        status="open",
        locked_until=timezone.now() + timedelta(hours=1),
    )
    annotation = Annotation.objects.create(
        project=rec.project, recording=rec, annotator=user, status="submitted", version=1, submitted_at=timezone.now()
    )
    Region.objects.create(
        annotation=annotation,
        uid=f"u{rec.id}",
        start=0.1,
        end=0.5,
        text=secret,
        label=label,
        attributes={"note": secret},
    )
    AnnotationVersion.objects.create(
        annotation=annotation,
        version=1,
        author=user,
        status="submitted",
        regions=[{"start": 0.1, "end": 0.5, "text": secret}],
    )
    return annotation


@pytest.fixture
def leak_world(project_with_roles, api, django_capture_on_commit_callbacks, settings):
    from apps.accounts.models import Membership
    from apps.catalog.models import SpeakerIdentity
    from apps.consent.services.optout import optout_token_make
    from tests.catalog.factories import SpeakerFactory

    settings.EARMARK_PURGE_GRACE_DAYS = 7  # exclusion must hold long before any purge
    project, users = project_with_roles
    Membership.objects.filter(user=users["annotator"]).update(role="annotator")
    w_spk = SpeakerFactory(project=project, code="withdrawn-spk")
    e_spk = SpeakerFactory(project=project, code="expired-spk")
    k_spk = SpeakerFactory(project=project, code="kept-spk")
    SpeakerIdentity.objects.create(speaker=w_spk, full_name="Wanda Withdrawn", email="wanda@example.org")
    w, w_bytes = _recording(project, w_spk, W_ID, 3)
    e, e_bytes = _recording(project, e_spk, E_ID, 4)
    k, _ = _recording(project, k_spk, K_ID, 5)
    _process([w, e, k], django_capture_on_commit_callbacks)
    secrets = {
        W_ID: "SECRET-TRANSCRIPT-WANDA-7731",
        E_ID: "SECRET-TRANSCRIPT-EXPIRED-4410",
        K_ID: "KEPT-TRANSCRIPT-0926",
    }
    annotations = {r.id: _annotate(r, users["annotator"], secrets[r.id]) for r in (w, e, k)}
    w_consent, e_consent = w_spk.consent_records.get(), e_spk.consent_records.get()
    release_ids = _release(project, users["manager"])
    model_ids = _model(project, users["manager"], annotations, django_capture_on_commit_callbacks)
    from apps.events.models import Event, WebhookEndpoint
    from apps.processing.models import Artifact, ProcessingJob

    webhook = WebhookEndpoint.objects.create(
        project=project, url="http://127.0.0.1:9/hook", events=Event.values, secret="0" * 64
    )  # deliveries are refused (loopback not allowed)

    kinds = sorted(set(Artifact.objects.values_list("kind", flat=True))) or ["mfcc"]
    params = {
        "project_id": [project.id],
        "recording_id": [W_ID, E_ID],
        "speaker_id": [w_spk.id, e_spk.id],
        "consent_id": [w_consent.id, e_consent.id],
        "annotation_id": [annotations[W_ID].id, annotations[E_ID].id],
        "job_id": list(ProcessingJob.objects.filter(recording_id__in=[W_ID, E_ID]).values_list("id", flat=True)) or [1],
        "import_id": [1],
        "source_id": [1],
        "token_id": [1],
        "release_id": release_ids,
        "fmt": ["jsonl", "csv"],
        "kind": kinds,
        "level": [0],
        "index": [0],
        "webhook_id": [webhook.id],
        "other_id": release_ids,
        "model_id": model_ids,
        "token": [optout_token_make(consent=w_consent, actor=None), optout_token_make(consent=e_consent, actor=None)],
        "uidb64": ["MQ"],  # the set-password link: no recording data on it at all
        **_campaign(project, users["manager"], [w, e]),
    }
    clients = {role: api(users[role]) for role in ROLES}
    for role, client in clients.items():
        client.force_login(users[role])  # a session too: HTML pages behind login_required must render, not redirect
    query = {"project": project.id}
    return {
        "project": project,
        "users": users,
        "params": params,
        "clients": clients,
        "query": query,
        "w_consent": w_consent,
        "e_consent": e_consent,
        "bytes": {W_ID: w_bytes, E_ID: e_bytes},
        "secrets": secrets,
        "k": k,
    }


def _campaign(project, manager, recordings) -> dict:
    """The recordings as a collection campaign's clips (issue 22): its clip audio, votes and coverage routes."""
    from apps.collection.models import Clip, Contributor
    from apps.collection.services import campaign_create, prompts_import

    campaign = campaign_create(
        project=project, actor=manager, name="Leak walk", consent_text="Consent.", purposes_asked=["store"]
    )
    prompts = prompts_import(
        campaign=campaign,
        content="\n".join(f"Sentence {chr(65 + i)}." for i, _ in enumerate(recordings)),
        language_tag="en",
        actor=manager,
    )
    contributors, clips = [], []
    for recording, prompt in zip(recordings, prompts):
        contributor = Contributor.objects.create(
            campaign=campaign,
            speaker=recording.speaker,
            consent=recording.speaker.consent_records.get(),
            secret_sha256=f"{recording.pk:064d}",
        )
        contributors.append(contributor.pk)
        clips.append(
            Clip.objects.create(
                contributor=contributor, prompt=prompt, recording=recording, upload_key=f"k{recording.pk}"
            ).pk
        )
    return {
        "campaign_id": [campaign.pk],
        "contributor_id": contributors,
        "clip_id": clips,
        "code": [campaign.public_token],
    }


def _release(project, manager) -> list[int]:
    """A release built while every speaker consented: after exclusion its downloads must not serve them."""
    from apps.annotation.models import Annotation
    from apps.datasets.services import release_build, release_create

    Annotation.objects.filter(project=project).update(status="accepted")
    spec = {"formats": ["jsonl"], "filters": {"qa": "any"}}  # our test tones look alike to QA's duplicate check
    release = release_create(actor=manager, project_id=project.id, spec=spec, enqueue=False)
    release_build(release_id=release.id)
    release.refresh_from_db()
    assert release.status == "ready", release.error
    return [release.id]


def _model(project, manager, annotations, capture) -> list[int]:
    """A project model trained while every speaker consented (it saw them all): its pages must name none."""
    from apps.annotation.models import Label, Region
    from apps.learning.models import ProjectModel
    from apps.learning.services import model_create

    noise = Label.objects.create(project=project, kind="region", name="noise")
    for annotation in annotations.values():
        Region.objects.create(annotation=annotation, uid=f"n{annotation.id}", start=0.6, end=0.9, label=noise)
    with capture(execute=True):
        model = model_create(project_id=project.id, actor=manager, recipe={"test_ratio": 0.34})
    model.refresh_from_db()
    assert model.state == "ready", model.error
    assert ProjectModel.objects.filter(examples__recording_id=W_ID).exists()
    return [model.id]


def _fingerprints(responses, control) -> list[bytes]:
    """Chunks of what recording-scoped endpoints returned for the excluded recordings (absent from the control's)."""
    prints = []
    for _role, _method, url, status, body in responses:
        if status != 200 or len(body) < 256 or body.lstrip()[:1] in (b"<",):
            continue
        chunk = body[len(body) // 2 : len(body) // 2 + 48]
        if chunk not in control.get(url.replace(str(W_ID), str(K_ID)).replace(str(E_ID), str(K_ID)), b""):
            prints.append(chunk)
    return prints


def _exclude(world):
    from apps.consent.models import ConsentRecord
    from apps.consent.services import consent_withdraw

    consent_withdraw(consent_id=world["w_consent"].id, actor=world["users"]["manager"])
    # Expired a second ago; no task has run: the selector alone must keep it out.
    ConsentRecord.objects.filter(pk=world["e_consent"].id).update(expires_at=timezone.now() - timedelta(seconds=1))


def _forbidden(world, prints) -> dict:
    return {
        "recording ids": [str(W_ID).encode(), str(E_ID).encode()],
        "audio bytes": [b[len(b) // 2 : len(b) // 2 + 256] for b in world["bytes"].values()],
        "transcripts": [world["secrets"][W_ID].encode(), world["secrets"][E_ID].encode()],
        "derived data (peaks/features/images)": prints,
    }


def _before(world):
    """What recording-scoped endpoints serve for the excluded and the control recordings, before exclusion."""
    manager = {"manager": world["clients"]["manager"]}
    params = {**world["params"], "recording_id": [W_ID, E_ID]}
    scoped = [r for r in walk(manager, params, world["query"]) if f"/{W_ID}" in r[2] or f"/{E_ID}" in r[2]]
    control = {r[2]: r[4] for r in walk(manager, {**world["params"], "recording_id": [K_ID]}, world["query"])}
    return scoped, control


def test_no_path_leaks_a_withdrawn_or_expired_speakers_data(leak_world):
    world = leak_world
    scoped, control = _before(world)
    # Sanity: before exclusion the same walk DOES see the data, so the check below can fail.
    assert any(str(W_ID).encode() in body for *_, body in scoped)
    assert any(world["bytes"][W_ID][:4096] in body for *_, body in scoped), "audio endpoint not walked"
    prints = _fingerprints(scoped, control)
    assert prints, "no derived-data endpoint answered for the recordings before exclusion"
    release_id = world["params"]["release_id"][0]
    download = _body(world["clients"]["manager"].get(f"/api/v1/releases/{release_id}/download/jsonl"))
    assert world["secrets"][W_ID].encode() in download, "the release did not contain the speaker before exclusion"

    _exclude(world)
    responses = walk(world["clients"], world["params"], world["query"])
    found = leaks(responses, _forbidden(world, prints))
    found += [
        f"{r[0]} {r[1]} {r[2]} ({r[3]}) leaks recording ids as JSON ids"
        for r in responses
        if not _ids_allowed(r[2]) and _ids_in_json(r[4], {W_ID, E_ID})
    ]
    assert not found, "consent leak:\n" + "\n".join(sorted(set(found)))
    # Paths naming an excluded recording or its annotation answer "not found" (HTML pages too, not an empty
    # shell), or refuse the method/role.
    annotations = "|".join(str(i) for i in world["params"]["annotation_id"])
    named = re.compile(rf"/(annotations/({annotations})|recordings/({W_ID}|{E_ID}))(/|$)")
    answered = [
        f"{r[0]} {r[1]} {r[2]} ({r[3]})" for r in responses if named.search(r[2]) and r[3] not in (403, 404, 405)
    ]
    assert not answered, "paths naming excluded items answered:\n" + "\n".join(sorted(answered))
    # The walk still reaches real data: the kept speaker's recording is listed.
    listed = [
        body
        for role, method, url, status, body in responses
        if role == "manager" and url.endswith(f"/projects/{world['project'].id}/recordings/")
    ]
    assert listed and str(K_ID).encode() in listed[0]


# --- proof that the walker catches a bypass ------------------------------------------------------------------


def _leaky_audio(request, recording_id):
    from apps.catalog.models import (
        Recording,  # a view bypassing the consent selector (what we must catch)
    )

    rec = Recording.objects.get(pk=recording_id)
    with default_storage.open(rec.original_key, "rb") as fh:
        return HttpResponse(fh.read(), content_type="audio/wav")


def _leaky_list(request):
    from apps.catalog.models import Recording

    return JsonResponse({"results": [{"id": r.id} for r in Recording.objects.all()]})


urlpatterns = [
    path("", include("config.urls")),
    path("api/v1/leaky/recordings/<int:recording_id>/raw", _leaky_audio),
    path("api/v1/leaky/recordings/", _leaky_list),
]


def test_walker_catches_a_leaky_view(leak_world, settings):
    world = leak_world
    _exclude(world)
    settings.ROOT_URLCONF = "tests.test_leak"
    clients = {"manager": world["clients"]["manager"]}
    responses = walk(clients, world["params"], world["query"], urlconf="tests.test_leak")
    found = leaks(responses, _forbidden(world, []))
    assert f"manager GET /api/v1/leaky/recordings/{W_ID}/raw (200) leaks audio bytes" in found
    assert "manager GET /api/v1/leaky/recordings/ (200) leaks recording ids" in found
    assert not [f for f in found if "/leaky/" not in f], found
