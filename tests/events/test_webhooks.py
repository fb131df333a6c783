"""Webhooks: signed deliveries to a receiver on 127.0.0.1, retried on the `events` queue by a real worker,
ids only in every body; URL rules at registration and at delivery; managers only."""

import io
import json
import re
import zipfile

import pytest
from django.db import transaction
from earmark_client import WebhookVerificationError, verify_request, verify_signature

from apps.core.hooks import MODEL_READY, hook_call, hook_handlers
from apps.events.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import make_audio
from tests.datasets.conftest import corpus  # noqa: F401
from tests.datasets.test_release_worker import poll

EVENTS = ["recording.withdrawn", "release.needs_rebuild", "release.published", "import.finished", "model.ready"]


def register(api, user, project_id, url, events=EVENTS):
    return api(user).post(f"/api/v1/projects/{project_id}/webhooks/", {"url": url, "events": events}, format="json")


def strings_in(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
    elif isinstance(value, str):
        yield value


@pytest.mark.services
@pytest.mark.xdist_group("worker")
def test_deliveries_are_signed_retried_after_a_500_until_a_200_and_carry_ids_only(
    live_worker,
    receiver,
    corpus,  # noqa: F811 (the fixture imported from tests/datasets/conftest.py)
    api,
):
    from apps.catalog.models import SpeakerIdentity
    from apps.catalog.services.imports import import_zip_recorded
    from apps.consent.models import ConsentRecord
    from apps.consent.services import consent_withdraw
    from apps.datasets.services import release_build, release_create

    project, users = corpus["project"], corpus["users"]
    victim = corpus["speakers"][2]
    SpeakerIdentity.objects.create(speaker=victim, full_name="Petra Private", email="petra@example.org")
    receiver.script = [500, 200]  # every delivery's first attempt fails
    worker = live_worker("events")
    made = register(api, users["manager"], project.id, receiver.url)
    assert made.status_code == 201, made.content
    secret = made.json()["secret"]
    assert (
        len(secret) == 64 and "secret" not in api(users["manager"]).get(f"/api/v1/webhooks/{made.json()['id']}/").json()
    )

    # Four kinds of news, from four apps, each through its service.
    release = release_create(
        actor=users["manager"], project_id=project.id, spec={"unit": "region", "formats": ["jsonl"]}, enqueue=False
    )
    release_build(release_id=release.id)  # -> release.published
    with transaction.atomic():  # -> recording.withdrawn and release.needs_rebuild
        consent_withdraw(
            consent_id=ConsentRecord.objects.get(speaker=victim, status="granted").id, actor=users["manager"]
        )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("petra-private-voice.wav", make_audio(seconds=0.5, seed=99))
    buf.seek(0)
    import_zip_recorded(project=project, fileobj=buf, name="petra-uploads.zip", created_by=users["manager"])

    wanted = {"release.published", "recording.withdrawn", "release.needs_rebuild", "import.finished"}
    poll(
        lambda: (
            set(WebhookDelivery.objects.filter(status="delivered").values_list("event", flat=True)) == wanted
            and not WebhookDelivery.objects.exclude(status="delivered").exists()
        ),
        timeout=120,
        step=0.2,
    )
    deliveries = list(WebhookDelivery.objects.order_by("id"))
    assert len(deliveries) == 4, worker.output()[-2000:]
    for d in deliveries:
        assert d.attempts == 2 and [e["status"] for e in d.log] == [500, 200] and d.response_status == 200
        sent = [r for r in receiver.requests if r["headers"]["Earmark-Delivery"] == str(d.id)]
        assert [r["status"] for r in sent] == [500, 200] and sent[0]["body"] == sent[1]["body"] == d.body.encode()

    withdrawn_ids = set(victim.recordings.values_list("id", flat=True))
    bodies = {}
    for r in receiver.requests:
        # The signature verifies with the endpoint's secret (the client's helper, as a receiver would use it)…
        verify_request(secret, r["headers"], r["body"])
        stamp = int(r["headers"]["Earmark-Timestamp"])
        # …a replay later is refused by its timestamp, a changed body or another secret by the signature.
        with pytest.raises(WebhookVerificationError, match="replay"):
            verify_signature(secret, r["body"], stamp, r["headers"]["Earmark-Signature"], now=stamp + 301)
        with pytest.raises(WebhookVerificationError, match="does not match"):
            verify_request(secret, r["headers"], r["body"].replace(b"}", b" }", 1))
        with pytest.raises(WebhookVerificationError):
            verify_request("0" * 64, r["headers"], r["body"])
        body = json.loads(r["body"])
        bodies[body["event"]] = body
    assert bodies["recording.withdrawn"]["data"]["recording_ids"] == sorted(withdrawn_ids)
    assert bodies["release.published"]["data"] == {"release_id": release.id, "version": 1}
    assert bodies["release.needs_rebuild"]["data"]["release_id"] == release.id
    assert bodies["import.finished"]["data"]["counts"]["accepted"] == 1

    # Nothing personal in any body: no names, e-mails, speaker codes, transcripts, file or user names.
    personal = [
        "Petra",
        "petra",
        "example.org",
        *(s.code for s in corpus["speakers"]),
        users["manager"].username,
        "text ",
        ".wav",
        ".zip",
    ]
    for r in receiver.requests:
        assert not [p for p in personal if p.encode() in r["body"]], r["body"]
        texts = set(strings_in(json.loads(r["body"]))) - {"id", "event", "project_id", "created_at", "data"}
        assert all(
            t
            in {
                *EVENTS,
                "consent_withdrawn",
                "done",
                "failed",
                "reason",
                "purposes",
                "recording_ids",
                "release_id",
                "version",
                "import_id",
                "status",
                "counts",
                "accepted",
                "quarantined",
                "duplicate",
                "rejected",
                "store",
                "annotate",
                "review",
                "train_models",
                "public_release",
                "commercial",
            }
            or re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", t)
            for t in texts
        ), texts

    # The deliveries are listed with their responses, in the API and on the page.
    listed = api(users["manager"]).get(f"/api/v1/webhooks/{made.json()['id']}/deliveries/").json()["results"]
    assert {d["event"] for d in listed} == wanted and all(d["response_body"] == '{"ok": true}' for d in listed)
    client = __import__("django.test", fromlist=["Client"]).Client()
    client.force_login(users["manager"])
    page = client.get(f"/webhooks/{made.json()['id']}/")
    assert page.status_code == 200 and b"release.published" in page.content and b"receiver is down" not in page.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, sentence",
    [
        ("ftp://example.org/hook", "must start with http:// or https://"),
        ("http://127.0.0.1:9/hook", "resolves to 127.0.0.1, a loopback, private"),
        ("http://localhost/hook", "resolves to"),
        ("http://169.254.169.254/latest/meta-data/", "resolves to 169.254.169.254"),
        ("http://10.1.2.3/hook", "resolves to 10.1.2.3"),
        ("http://[::1]/hook", "resolves to ::1"),
        ("http://user:pw@example.org/hook", "must not carry a user name or password"),
        ("http://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_endpoint_urls_must_be_public_http_unless_the_site_allows_them(api, project_with_roles, url, sentence):
    project, users = project_with_roles
    response = register(api, users["manager"], project.id, url)
    assert response.status_code == 400 and sentence in response.json()["detail"], response.content
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_unknown_events_are_a_400_sentence(api, project_with_roles, receiver):
    project, users = project_with_roles
    response = register(api, users["manager"], project.id, receiver.url, events=["release.eaten"])
    assert response.status_code == 400 and "release.eaten" in response.json()["detail"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_addresses_are_checked_again_at_delivery_time(
    api, project_with_roles, receiver, settings, django_capture_on_commit_callbacks
):
    project, users = project_with_roles
    assert register(api, users["manager"], project.id, receiver.url).status_code == 201
    settings.EARMARK_WEBHOOK_ALLOW_HOSTS = []  # the site stops allowing loopback (or DNS now points there)
    with django_capture_on_commit_callbacks(execute=True):
        hook_call(MODEL_READY, model_id=7, project_id=project.id)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "Not sent" in delivery.error
    assert "EARMARK_WEBHOOK_ALLOW_HOSTS" in delivery.error
    assert receiver.requests == []


@pytest.mark.django_db
def test_model_ready_is_declared_for_the_learning_app_and_delivered(
    api, project_with_roles, receiver, django_capture_on_commit_callbacks
):
    project, users = project_with_roles
    secret = register(api, users["manager"], project.id, receiver.url, events=["model.ready"]).json()["secret"]
    assert hook_handlers(MODEL_READY), "events registers a handler for model_ready"
    with django_capture_on_commit_callbacks(execute=True):
        hook_call(MODEL_READY, model_id=7, project_id=project.id)
        hook_call(MODEL_READY, model_id=8, project_id=project.id + 1000)  # another project: nobody subscribed
    (sent,) = receiver.requests
    verify_request(secret, sent["headers"], sent["body"])
    assert json.loads(sent["body"])["data"] == {"model_id": 7} and sent["headers"]["Earmark-Event"] == "model.ready"


@pytest.mark.django_db
def test_only_managers_see_register_and_delete_webhooks(api, project_with_roles, receiver, make_user):
    from django.test import Client

    project, users = project_with_roles
    made = register(api, users["manager"], project.id, receiver.url).json()
    outsider = make_user("outsider")
    for role in ("annotator", "reviewer", "viewer"):
        assert api(users[role]).get(f"/api/v1/projects/{project.id}/webhooks/").status_code == 403
        assert register(api, users[role], project.id, receiver.url).status_code == 403
        assert api(users[role]).get(f"/api/v1/webhooks/{made['id']}/deliveries/").status_code == 404
    assert api(outsider).get(f"/api/v1/projects/{project.id}/webhooks/").status_code == 404
    assert api(users["viewer"]).delete(f"/api/v1/webhooks/{made['id']}/").status_code == 404
    browser = Client()
    browser.force_login(users["annotator"])
    assert browser.get(f"/projects/{project.id}/webhooks/").status_code == 404
    browser.force_login(users["manager"])
    page = browser.get(f"/projects/{project.id}/webhooks/")
    assert page.status_code == 200 and receiver.url.encode() in page.content
    assert made["secret"].encode() not in page.content
    bad = browser.post(f"/projects/{project.id}/webhooks/", {"url": "http://169.254.169.254/", "events": EVENTS})
    assert bad.status_code == 400 and b"169.254.169.254, a loopback" in bad.content
    assert WebhookEndpoint.objects.count() == 1
    assert api(users["manager"]).delete(f"/api/v1/webhooks/{made['id']}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_delivery_whose_retry_message_was_lost_is_sent_by_the_sweeper(api, project_with_roles, receiver):
    from datetime import timedelta

    from django.utils import timezone

    from apps.events.tasks import deliveries_requeue_stale_task

    project, users = project_with_roles
    made = register(api, users["manager"], project.id, receiver.url).json()
    overdue = WebhookDelivery.objects.create(
        endpoint_id=made["id"],
        event="model.ready",
        body='{"id": 1}',
        status="retrying",
        attempts=1,
        next_attempt_at=timezone.now() - timedelta(hours=1),
    )
    waiting = WebhookDelivery.objects.create(
        endpoint_id=made["id"],
        event="model.ready",
        body='{"id": 2}',
        status="retrying",
        attempts=1,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    assert deliveries_requeue_stale_task() == 1
    overdue.refresh_from_db()
    waiting.refresh_from_db()
    assert overdue.status == "delivered" and overdue.attempts == 2 and waiting.status == "retrying"
    assert [r["headers"]["Earmark-Delivery"] for r in receiver.requests] == [str(overdue.id)]
