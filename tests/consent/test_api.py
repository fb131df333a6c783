"""Consent API: roles, clear 4xx sentences with nothing half-written, subject access, audit paging."""

import io
import json
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.catalog.models import Speaker
from apps.consent.models import AuditEvent, ConsentRecord, RecordingPurge

pytestmark = pytest.mark.django_db


def test_speaker_create_and_list_identity_only_for_managers(api, consent_world):
    w = consent_world
    manager = api(w["users"]["manager"])
    response = manager.post(
        "/api/v1/speakers/",
        {"project": w["project"].id, "code": "carol", "identity": {"full_name": "Carol C", "email": "c@example.org"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["identity"]["full_name"] == "Carol C"
    listed = manager.get(f"/api/v1/speakers/?project={w['project'].id}").json()["results"]
    assert {s["code"] for s in listed} == {"alice-code", "bob-code", "carol"}
    annotator_view = api(w["users"]["annotator"]).get(f"/api/v1/speakers/?project={w['project'].id}")
    assert annotator_view.status_code == 200 and b"Carol C" not in annotator_view.content
    assert b"identity" not in annotator_view.content
    assert "Carol C" not in json.dumps(list(AuditEvent.objects.values("data")))


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"code": "x"}, 400, "project"),
        ({"project": "PID", "code": ""}, 400, "code"),
        ({"project": "PID", "code": "alice-code"}, 409, "already used"),
    ],
)
def test_speaker_create_refusals(api, consent_world, body, status, words):
    w = consent_world
    body = {k: (w["project"].id if v == "PID" else v) for k, v in body.items()}
    before = Speaker.objects.count()
    response = api(w["users"]["manager"]).post("/api/v1/speakers/", body, format="json")
    assert response.status_code == status and words in response.json()["detail"]
    assert Speaker.objects.count() == before


def test_non_managers_cannot_create_speakers_or_record_consent(api, consent_world):
    w = consent_world
    client = api(w["users"]["annotator"])
    response = client.post("/api/v1/speakers/", {"project": w["project"].id, "code": "z"}, format="json")
    assert response.status_code == 403 and "manager" in response.json()["detail"]
    response = client.post(f"/api/v1/speakers/{w['bob'].id}/consents/", {"purposes": ["store"]}, format="json")
    assert response.status_code == 403
    assert api(w["users"]["reviewer"]).post(f"/api/v1/consents/{w['bob_consent'].id}/withdraw/").status_code == 403
    assert ConsentRecord.objects.get(pk=w["bob_consent"].id).status == "granted"


def test_record_consent_with_evidence_upload(api, consent_world):
    w = consent_world
    upload = SimpleUploadedFile("signed.pdf", b"%PDF-1.4 I agree", content_type="application/pdf")
    response = api(w["users"]["manager"]).post(
        f"/api/v1/speakers/{w['bob'].id}/consents/",
        {"purposes": ["store", "annotate"], "evidence": upload},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["purposes"] == ["store", "annotate"] and body["evidence"]["content_type"] == "application/pdf"
    record = ConsentRecord.objects.get(pk=body["id"])
    assert default_storage.exists(record.evidence_key)
    assert AuditEvent.objects.filter(action="consent.granted", object_id=str(record.id)).exists()


@pytest.mark.parametrize(
    "data, words",
    [
        ({"purposes": ["fly"]}, "purposes"),
        ({"purposes": ["store"], "evidence": ("note.txt", b"just text")}, "evidence must be"),
        ({"purposes": ["store"], "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_record_consent_refusals_leave_nothing(api, consent_world, data, words):
    w = consent_world
    if "evidence" in data:
        data = {**data, "evidence": SimpleUploadedFile(data["evidence"][0], data["evidence"][1])}
    before = ConsentRecord.objects.count()
    response = api(w["users"]["manager"]).post(f"/api/v1/speakers/{w['bob'].id}/consents/", data, format="multipart")
    assert response.status_code == 400 and words in response.json()["detail"], response.content
    assert ConsentRecord.objects.count() == before
    evidence_dir = default_storage.listdir("")[0]
    assert "consent-evidence" not in evidence_dir


def test_withdraw_endpoint_partial_then_full_with_grace_zero_purges(
    api, consent_world, settings, django_capture_on_commit_callbacks
):
    w = consent_world
    settings.EARMARK_PURGE_GRACE_DAYS = 0
    client = api(w["users"]["manager"])
    url = f"/api/v1/consents/{w['alice_consent'].id}/withdraw/"
    partial = client.post(url, {"purposes": ["commercial"]}, format="json")
    assert partial.status_code == 200 and partial.json()["consent"]["withdrawn_purposes"] == ["commercial"]
    again = client.post(url, {"purposes": ["commercial"]}, format="json")
    assert again.status_code == 400 and "does not grant commercial" in again.json()["detail"]
    with django_capture_on_commit_callbacks(execute=True):
        full = client.post(url, {"reason": "no longer"}, format="json")
    assert full.status_code == 200 and full.json()["consent"]["status"] == "withdrawn"
    assert set(RecordingPurge.objects.values_list("state", flat=True)) == {"done"}  # eager beat task ran on commit
    assert not default_storage.exists(w["a1"].original_key)
    gone = client.post(url, {}, format="json")
    assert gone.status_code == 409 and "already withdrawn" in gone.json()["detail"]


def test_subject_access_export(api, consent_world):
    w = consent_world
    client = api(w["users"]["manager"])
    client.post(f"/api/v1/consents/{w['alice_consent'].id}/withdraw/", {"recording_ids": [w["a2"].id]}, format="json")
    response = client.get(f"/api/v1/speakers/{w['alice'].id}/export")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {"README.txt", "speaker.json", "consents.json", "recordings.json", "annotations.json"} <= names
    assert archive.read(f"audio/{w['a1'].id}.wav") == w["bytes"][w["a1"].id]
    assert f"audio/{w['a2'].id}.wav" not in names  # withdrawn: listed, not exported
    speaker = json.loads(archive.read("speaker.json"))
    assert speaker["identity"]["email"] == "alice@example.org"
    recordings = {r["id"]: r for r in json.loads(archive.read("recordings.json"))}
    assert recordings[w["a2"].id]["in_use"] is False and recordings[w["a1"].id]["in_use"] is True
    assert api(w["users"]["reviewer"]).get(f"/api/v1/speakers/{w['alice'].id}/export").status_code == 403


def test_audit_list_is_for_managers_and_paged_with_constant_queries(api, consent_world, django_assert_max_num_queries):
    from apps.consent.services import audit_record

    w = consent_world
    for i in range(30):
        audit_record(actor=None, action="test.event", object_type="thing", object_id=i, project_id=w["project"].id)
    client = api(w["users"]["manager"])
    with django_assert_max_num_queries(4):
        page = client.get("/api/v1/audit/?page_size=10").json()
    assert len(page["results"]) == 10 and page["next"]
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/v1/audit/?page_size=25").json()["results"]) == 25
    assert api(w["users"]["annotator"]).get("/api/v1/audit/").json()["results"] == []


def test_optout_link_endpoint(api, consent_world):
    w = consent_world
    response = api(w["users"]["manager"]).post(f"/api/v1/consents/{w['bob_consent'].id}/optout-link/")
    assert response.status_code == 201 and "/optout/" in response.json()["url"]


def test_policy_get_and_put(api, consent_world):
    w = consent_world
    client = api(w["users"]["manager"])
    url = f"/api/v1/projects/{w['project'].id}/consent-policy/"
    assert client.get(url).json()["annotate_purposes"] == ["store", "annotate"]
    response = client.put(
        url, {"on_missing": "reject", "train_models_purposes": ["store", "train_models", "review"]}, format="json"
    )
    assert response.status_code == 200 and response.json()["on_missing"] == "reject"
    bad = client.put(url, {"on_missing": "ignore"}, format="json")
    assert bad.status_code == 400 and "on_missing" in bad.json()["detail"]
    assert client.get(url).json()["on_missing"] == "reject"


def test_speaker_list_query_count_is_constant(api, consent_world, django_assert_num_queries):
    from apps.catalog.models import SpeakerIdentity
    from tests.catalog.factories import SpeakerFactory

    w = consent_world
    client = api(w["users"]["manager"])
    url = f"/api/v1/speakers/?project={w['project'].id}"
    with django_assert_num_queries(2):  # the role check and one page query with identities joined
        assert len(client.get(url).json()["results"]) == 2
    for i in range(15):
        SpeakerIdentity.objects.create(speaker=SpeakerFactory(project=w["project"]), full_name=f"P {i}")
    with django_assert_num_queries(2):
        assert len(client.get(url).json()["results"]) == 17


def test_consent_form_versions_keep_old_text(api, consent_world):
    import hashlib

    w = consent_world
    client = api(w["users"]["manager"])
    body = {"project": w["project"].id, "title": "Main", "text": "I agree v1", "purposes": ["store", "annotate"]}
    first = client.post("/api/v1/consent-forms/", body, format="json").json()
    second = client.post("/api/v1/consent-forms/", {**body, "text": "I agree v2"}, format="json").json()
    assert (first["version"], second["version"]) == (1, 2)
    assert first["sha256"] == hashlib.sha256(b"I agree v1").hexdigest()
    listed = client.get(f"/api/v1/consent-forms/?project={w['project'].id}").json()["results"]
    assert [f["text"] for f in listed] == ["I agree v2", "I agree v1"]
    # A consent under v1 may not grant what the form does not cover.
    bad = client.post(
        f"/api/v1/speakers/{w['bob'].id}/consents/", {"purposes": ["commercial"], "form": first["id"]}, format="json"
    )
    assert bad.status_code == 400 and "does not cover commercial" in bad.json()["detail"]
    empty = client.post("/api/v1/consent-forms/", {**body, "text": "  "}, format="json")
    assert empty.status_code == 400 and "text" in empty.json()["detail"]


def test_the_policy_serializer_declares_one_purposes_field_per_use():
    from apps.consent.serializers import MASKS, PolicyIO

    assert {f"{name}_purposes" for name in MASKS} <= set(PolicyIO().fields)
