"""Ingest obeys the project's consent policy: reject with a sentence (nothing written) or quarantine (hidden)."""

import io

import pytest
from django.core.files.storage import default_storage

from apps.catalog.models import Recording, Speaker
from apps.consent.models import ProjectConsentPolicy
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


def _upload(client, project, code, seed=11):
    f = io.BytesIO(make_audio(seconds=0.5, seed=seed))
    f.name = "clip.wav"
    sidecar = io.BytesIO(f"file,speaker\nclip.wav,{code}\n".encode())
    sidecar.name = "meta.csv"
    return client.post(
        f"/api/v1/projects/{project.id}/recordings/", {"files": [f], "sidecar": sidecar}, format="multipart"
    )


def _stored_originals():
    try:
        return default_storage.listdir("originals")[0]
    except FileNotFoundError:
        return []


def test_reject_policy_refuses_unconsented_speaker_and_writes_nothing(api, project_with_roles):
    project, users = project_with_roles
    ProjectConsentPolicy.objects.create(project=project, on_missing="reject")
    response = _upload(api(users["manager"]), project, "stranger")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "stranger" in detail and "store" in detail and "consent" in detail
    assert not Recording.objects.exists() and not Speaker.objects.filter(code="stranger").exists()
    assert _stored_originals() == []


def test_quarantine_policy_stores_but_hides_until_consent(api, project_with_roles):
    from apps.consent.services import consent_record

    project, users = project_with_roles
    client = api(users["manager"])
    response = _upload(client, project, "later")
    assert response.status_code == 201, response.content
    rid = response.json()["results"][0]["recording_id"]
    listing = client.get(f"/api/v1/projects/{project.id}/recordings/").json()["results"]
    assert rid not in [r["id"] for r in listing]
    assert client.get(f"/api/v1/recordings/{rid}/").status_code == 404
    consent_record(speaker=Speaker.objects.get(code="later"), actor=users["manager"], purposes=["store"])
    assert client.get(f"/api/v1/recordings/{rid}/").status_code == 200


@pytest.mark.parametrize("path", ["api", "page"])
def test_consent_for_a_quarantined_speaker_queues_processing_at_once(
    api, project_with_roles, django_capture_on_commit_callbacks, path
):
    """Issue 12, point 6: the quarantine leads somewhere — the consent page lists the speaker with a form, the
    API records consent, and processing is queued the moment the quarantine lifts."""
    from django.test import Client

    from apps.processing.models import ProcessingJob

    project, users = project_with_roles
    client = api(users["manager"])
    rid = _upload(client, project, "held").json()["results"][0]["recording_id"]
    speaker = Speaker.objects.get(code="held")
    page = Client()
    page.force_login(users["manager"])
    listing = page.get(f"/projects/{project.id}/consent/")
    assert b"Quarantined: recordings waiting for consent" in listing.content and b"held" in listing.content
    assert not ProcessingJob.objects.filter(recording_id=rid).exists()  # held: nothing queued on ingest
    with django_capture_on_commit_callbacks(execute=False):
        if path == "api":
            response = client.post(f"/api/v1/speakers/{speaker.id}/consents/", {"purposes": ["store"]}, format="json")
            assert response.status_code == 201, response.content
        else:
            response = page.post(
                f"/projects/{project.id}/consent/",
                {"action": "grant", "speaker": speaker.id, "purposes": ["store"]},
                follow=True,
            )
            assert b"Consent recorded for speaker held" in response.content
    assert ProcessingJob.objects.filter(recording_id=rid, status="queued").count() == 1
    assert client.get(f"/api/v1/recordings/{rid}/").status_code == 200
