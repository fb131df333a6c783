"""queue/next/ embeds the item's peaks at the first zoom level: the peaks endpoint's answer, read through its
consent selector and audited like a peaks request; null before processing; never for a withdrawn recording."""

import io

import numpy as np
import pytest
import soundfile as sf

from apps.annotation.embed import EMBED_PEAKS_MAX_LENGTH
from apps.annotation.models import Assignment
from apps.catalog.models import Speaker
from apps.catalog.services import recording_ingest
from apps.consent.models import AuditEvent, ConsentRecord
from apps.consent.services import consent_withdraw, consents_grant_bulk
from tests.catalog.factories import RecordingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def processed(project_with_roles, django_capture_on_commit_callbacks):
    """A 2-second clip of a consenting speaker, ingested and processed (it has stored peaks): (project, users, id)."""
    project, users = project_with_roles
    consents_grant_bulk(speakers=[Speaker.objects.create(project=project, code="spk-peaks")])
    t = np.arange(32000) / 16000
    buf = io.BytesIO()
    sf.write(buf, (0.5 * ((t % 1.0) < 0.5) * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, format="WAV")
    with django_capture_on_commit_callbacks(execute=True):
        result = recording_ingest(
            project=project,
            fileobj=io.BytesIO(buf.getvalue()),
            name="a.wav",
            created_by=users["manager"],
            speaker_code="spk-peaks",
        )
    assert result.status == "accepted", result
    return project, users, result.recording_id


def _served(rid, route):
    return AuditEvent.objects.filter(action="recording.served", object_id=str(rid), data__route=route)


def test_queue_next_embeds_the_peaks_endpoints_answer_and_audits_it(processed, api):
    project, users, rid = processed
    client = api(users["annotator"])
    body = client.post(f"/api/v1/projects/{project.id}/queue/next/").json()
    assert body["recording"]["id"] == rid and body["progress"] == {"left": 1, "total": 1}
    endpoint = client.get(f"/api/v1/recordings/{rid}/peaks?max_length={EMBED_PEAKS_MAX_LENGTH}")
    assert endpoint.status_code == 200
    assert body["peaks"] == endpoint.json()
    assert body["peaks"]["length"] <= EMBED_PEAKS_MAX_LENGTH and body["peaks"]["duration"] == pytest.approx(2.0)
    # One audit event per embedding, like a peaks request, naming the route that embedded them.
    embedded = _served(rid, "annotation-queue-next")
    assert embedded.filter(actor_id=users["annotator"].id, project_id=project.id).count() == 1
    client.post(f"/api/v1/projects/{project.id}/queue/next/")  # the same open item again: audited again
    assert embedded.count() == 2


def test_queue_next_peaks_are_null_before_processing(schema, api):
    project, users, _ = schema
    rec = RecordingFactory(project=project, status="processing", duration=10.0, frames=160000)
    body = api(users["annotator"]).post(f"/api/v1/projects/{project.id}/queue/next/").json()
    assert body["recording"]["id"] == rec.id and body["peaks"] is None
    assert not _served(rec.id, "annotation-queue-next").exists()


def test_a_withdrawn_recording_never_gets_its_peaks_embedded(processed, api):
    """Withdrawn after the claim: queue/next/ neither hands the item out again nor embeds its peaks, and the peaks
    endpoint refuses them too."""
    project, users, rid = processed
    client = api(users["annotator"])
    assert client.post(f"/api/v1/projects/{project.id}/queue/next/").json()["peaks"] is not None
    consent = ConsentRecord.objects.get(speaker__code="spk-peaks")
    consent_withdraw(consent_id=consent.id, actor=users["manager"], recording_ids=[rid])
    response = client.post(f"/api/v1/projects/{project.id}/queue/next/")
    assert response.status_code == 204 and not response.content
    assert client.get(f"/api/v1/recordings/{rid}/peaks").status_code == 404
    assert _served(rid, "annotation-queue-next").count() == 1  # the embedding before the withdrawal only


def test_queue_next_peaks_follow_the_peaks_endpoints_stream_rule(processed, api, monkeypatch):
    """The embed asks the peaks endpoint's selector: where that selector refuses the recording (here its
    streaming rule, forced to say no), the answer carries no peaks and writes no audit event."""
    from apps.consent import selectors

    project, users, rid = processed
    monkeypatch.setattr(selectors, "recording_in_work", lambda actor, recording: False)
    body = api(users["annotator"]).post(f"/api/v1/projects/{project.id}/queue/next/").json()
    assert body["recording"]["id"] == rid and body["peaks"] is None
    assert not _served(rid, "annotation-queue-next").exists()


def test_queue_next_without_progress_leaves_the_counts_to_queue_progress(processed, api):
    """?progress=false (what the annotator asks): the same item and peaks without the counts, which
    queue/progress/ then gives as queue/next/ would have; anything but a boolean is a 400 that names the parameter
    and claims nothing."""
    project, users, rid = processed
    client = api(users["annotator"])
    bad = client.post(f"/api/v1/projects/{project.id}/queue/next/?progress=sometimes")
    assert bad.status_code == 400 and "progress" in bad.content.decode()
    assert not Assignment.objects.filter(recording_id=rid).exists()
    body = client.post(f"/api/v1/projects/{project.id}/queue/next/?progress=false").json()
    assert body["recording"]["id"] == rid and "progress" not in body and body["peaks"] is not None
    assert client.get(f"/api/v1/projects/{project.id}/queue/progress/").json() == {"left": 1, "total": 1}
    again = client.post(f"/api/v1/projects/{project.id}/queue/next/?progress=true").json()
    assert again["annotation"]["id"] == body["annotation"]["id"] and again["progress"] == {"left": 1, "total": 1}
