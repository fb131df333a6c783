"""The annotator pages render the config the frontend reads; refusals match the API."""

import json
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _html(response) -> str:
    """The page's HTML: the annotate pages stream (their head first, then the first item)."""
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _config(response) -> dict:
    return _config_of(_html(response))


def _config_of(html: str) -> dict:
    match = re.search(r'<script id="annotator-config" type="application/json">(.*?)</script>', html)
    assert match, "the page must carry the annotator-config json_script"
    return json.loads(match.group(1))


def test_annotate_page_renders_config(schema):
    project, users, _ = schema
    response = _client(users["annotator"]).get(f"/projects/{project.id}/annotate/")
    assert response.status_code == 200
    html = _html(response)
    config = _config_of(html)
    assert config["project_id"] == project.id and config["annotation_id"] is None
    assert config["mode"] == "annotate" and config["api_base"] == "/api/v1"
    assert config["user_id"] == users["annotator"].id and len(config["csrf_token"]) >= 32
    assert config["next_url"] == f"/projects/{project.id}/"
    assert "annotation/annotator.js" in html
    # Django's {# #} comments end at the line's end: one left open shows as text at the foot of the page.
    assert "{#" not in html and "#}" not in html and "{%" not in html


def test_no_template_comment_spans_lines():
    """A {# comment #} over two lines is not a comment to Django: its text would be shown on the page."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    templates = [p for p in root.glob("**/templates/**/*.html") if ".venv" not in p.parts]
    assert templates
    for path in templates:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            opened = line.count("{#") - line.count("#}")
            assert opened <= 0, f"{path.relative_to(root)}:{number}: a {{# comment must end on its line"


def test_annotate_page_refusals(schema, make_user):
    project, users, _ = schema
    assert _client(users["viewer"]).get(f"/projects/{project.id}/annotate/").status_code == 403
    assert _client(users["reviewer"]).get(f"/projects/{project.id}/annotate/").status_code == 403
    assert _client(make_user("stranger")).get(f"/projects/{project.id}/annotate/").status_code == 404
    anonymous = Client().get(f"/projects/{project.id}/annotate/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_edit_page_only_for_the_annotator(item, schema):
    _, annotation, _ = item
    project, users, _ = schema
    response = _client(users["annotator"]).get(f"/annotations/{annotation['id']}/edit/")
    assert response.status_code == 200
    config = _config(response)
    assert config["annotation_id"] == annotation["id"] and config["project_id"] == project.id
    assert _client(users["manager"]).get(f"/annotations/{annotation['id']}/edit/").status_code == 404


def test_start_labelling_button_for_annotators_only(schema):
    project, users, _ = schema
    link = f'href="/projects/{project.id}/annotate/"'
    assert link in _client(users["annotator"]).get(f"/projects/{project.id}/").content.decode()
    assert link in _client(users["manager"]).get(f"/projects/{project.id}/").content.decode()
    assert link not in _client(users["viewer"]).get(f"/projects/{project.id}/").content.decode()


def _first(response) -> dict:
    match = re.search(r'<script id="annotator-first" type="application/json">(.*?)</script>', _html(response))
    assert match, "the page must embed its first item (annotator-first json_script)"
    return json.loads(match.group(1))


def test_annotate_page_embeds_the_queue_answer_the_api_gives(schema, recordings, api):
    project, users, _ = schema
    first = _first(_client(users["annotator"]).get(f"/projects/{project.id}/annotate/"))
    assert first["labels"] == api(users["annotator"]).get(f"/api/v1/projects/{project.id}/labels/").json()
    assert first["peaks"] is None  # these rows were never processed: the bundle falls back to the API
    # The page claimed the item exactly as queue/next/ does: asking the API now hands out the same one.
    again = api(users["annotator"]).post(f"/api/v1/projects/{project.id}/queue/next/").json()
    assert first["item"]["annotation"]["id"] == again["annotation"]["id"]
    assert first["item"]["recording"] == again["recording"]
    # The counts are left out of the embed (the bundle asks queue/progress/ once the item plays): same numbers.
    assert "progress" not in first["item"]
    progress = api(users["annotator"]).get(f"/api/v1/projects/{project.id}/queue/progress/")
    assert progress.status_code == 200 and progress.json() == again["progress"]


def test_queue_progress_refusals(schema, make_user, api):
    project, users, _ = schema
    url = f"/api/v1/projects/{project.id}/queue/progress/"
    assert api(users["viewer"]).get(url).status_code == 403
    assert api(make_user("stranger")).get(url).status_code == 404
    assert api(users["annotator"]).get(url).json() == {"left": 0, "total": 0}  # nothing ingested in this schema


def test_annotate_page_leaves_the_progress_counts_out(schema, recordings, django_assert_max_num_queries):
    """The page claims and embeds its item without the progress counts (four queries, and as much CPU as the
    claim); 31 queries before."""
    project, users, _ = schema
    client = _client(users["annotator"])
    _html(client.get(f"/projects/{project.id}/annotate/"))  # claims the first item (as its body is sent)
    with django_assert_max_num_queries(27):
        response = client.get(f"/projects/{project.id}/annotate/")
        assert response.status_code == 200 and "annotator-first" in _html(response)


def test_annotate_page_embeds_nothing_from_a_withdrawn_speaker(schema, recordings):
    from apps.consent.models import ConsentRecord
    from apps.consent.services import consent_withdraw

    project, users, _ = schema
    for rec in recordings:
        consent = ConsentRecord.objects.filter(speaker=rec.speaker).first()
        consent_withdraw(consent_id=consent.id, actor=users["manager"], recording_ids=[rec.id])
    first = _first(_client(users["annotator"]).get(f"/projects/{project.id}/annotate/"))
    assert first["item"] is None and first["peaks"] is None


def test_edit_page_embeds_its_annotation_and_recording(item, schema):
    client_api, annotation, recording = item
    project, users, _ = schema
    first = _first(_client(users["annotator"]).get(f"/annotations/{annotation['id']}/edit/"))
    assert first["item"]["annotation"] == client_api.get(f"/api/v1/annotations/{annotation['id']}/").json()
    assert first["item"]["recording"] == client_api.get(f"/api/v1/recordings/{recording['id']}/").json()


def test_edit_page_is_a_404_once_the_speaker_withdraws(item, schema):
    """The page streams, but the recording is read before its first byte: no 200 shell for a withdrawn item."""
    from apps.consent.models import ConsentRecord
    from apps.consent.services import consent_withdraw

    _, annotation, recording = item
    _, users, _ = schema
    client = _client(users["annotator"])
    assert client.get(f"/annotations/{annotation['id']}/edit/").status_code == 200
    consent = ConsentRecord.objects.filter(speaker__code=recording["speaker"]).first()
    consent_withdraw(consent_id=consent.id, actor=users["manager"], recording_ids=[recording["id"]])
    assert client.get(f"/annotations/{annotation['id']}/edit/").status_code == 404


def test_annotate_page_embeds_the_first_peaks_and_audits_them(
    project_with_roles, django_capture_on_commit_callbacks, api
):
    import io

    import numpy as np
    import soundfile as sf

    from apps.catalog.services import recording_ingest
    from apps.consent.models import AuditEvent

    project, users = project_with_roles
    t = np.arange(32000) / 16000  # tone bursts with pauses: voice detection finds no speech (no speaker needed)
    buf = io.BytesIO()
    sf.write(buf, (0.5 * ((t % 1.0) < 0.5) * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, format="WAV")
    with django_capture_on_commit_callbacks(execute=True):
        result = recording_ingest(
            project=project, fileobj=io.BytesIO(buf.getvalue()), name="a.wav", created_by=users["manager"]
        )
    rid = result.recording_id
    first = _first(_client(users["annotator"]).get(f"/projects/{project.id}/annotate/"))
    assert first["item"]["recording"]["id"] == rid
    from apps.annotation.embed import EMBED_PEAKS_MAX_LENGTH

    peaks_api = api(users["annotator"]).get(f"/api/v1/recordings/{rid}/peaks?max_length={EMBED_PEAKS_MAX_LENGTH}")
    assert first["peaks"] == peaks_api.json()
    served = AuditEvent.objects.filter(action="recording.served", object_id=str(rid))
    assert served.filter(data__route="annotator-page-peaks", actor_id=users["annotator"].id).count() == 1


def test_annotate_page_streams_its_head_before_the_first_item(schema, recordings):
    """The head (inline styles, the bundle's script tag) and the page's markup come in the first part, before the
    server claims the item: the browser loads the bundle meanwhile. The item follows in later parts."""
    from apps.annotation.models import Assignment

    project, users, _ = schema
    response = _client(users["annotator"]).get(f"/projects/{project.id}/annotate/")
    assert response.status_code == 200 and response.streaming
    parts = iter(response.streaming_content)
    head = next(parts).decode()
    assert "annotation/annotator.js" in head
    # The style sheets are inline, under the CSP nonce (no request for them; the bundle waits for none).
    nonce = re.search(r'data-csp-nonce="([^"]+)"', head).group(1)
    assert f'<style nonce="{nonce}">' in head and ".ann-workspace" in head and "annotator.css" not in head
    assert nonce in response["Content-Security-Policy"]
    assert 'id="annotator-config"' in head and "annotator-first" not in head
    assert not Assignment.objects.filter(annotator=users["annotator"]).exists()  # nothing claimed yet
    rest = b"".join(parts).decode()
    assert "annotator-first" in rest and rest.rstrip().endswith("</html>")
    assert Assignment.objects.filter(annotator=users["annotator"]).exists()


def test_annotate_page_without_its_embed_when_building_it_fails(schema, recordings, monkeypatch, caplog):
    """The headers are sent before the item is built: a failure there is logged and the page goes out whole
    without its embed (the bundle then asks the API, which answers the error)."""
    from apps.annotation import pages

    def broken(**_):
        raise RuntimeError("boom")

    monkeypatch.setattr(pages, "queue_next_body", broken)
    project, users, _ = schema
    html = _html(_client(users["annotator"]).get(f"/projects/{project.id}/annotate/"))
    assert "annotator-first" not in html and 'id="annotator-config"' in html
    assert html.rstrip().endswith("</html>")
    assert "could not be embedded" in caplog.text


def _ingest_clip(project, user, django_capture_on_commit_callbacks, seconds=2):
    import io

    import numpy as np
    import soundfile as sf

    from apps.catalog.services import recording_ingest

    t = np.arange(16000 * seconds) / 16000  # tone bursts with pauses: voice detection finds no speech
    buf = io.BytesIO()
    sf.write(buf, (0.5 * ((t % 1.0) < 0.5) * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, format="WAV")
    with django_capture_on_commit_callbacks(execute=True):
        result = recording_ingest(project=project, fileobj=io.BytesIO(buf.getvalue()), name="a.wav", created_by=user)
    return result.recording_id


def _audio_src(html: str, rid: int) -> str:
    match = re.search(rf'<audio data-role="audio" data-recording="{rid}" preload="auto" src="([^"]+)"', html)
    assert match, "the page must carry the first item's <audio> element"
    return match.group(1)


def test_annotate_page_embeds_a_short_clips_audio_and_audits_it(
    project_with_roles, django_capture_on_commit_callbacks, api
):
    """A short clip's bytes come in the page's <audio> element (a data: URI): the same bytes the audio endpoint
    serves, read through the same consent selector and audited like an audio request."""
    import base64

    from apps.consent.models import AuditEvent

    project, users = project_with_roles
    rid = _ingest_clip(project, users["manager"], django_capture_on_commit_callbacks)
    html = _html(_client(users["annotator"]).get(f"/projects/{project.id}/annotate/"))
    src = _audio_src(html, rid)
    assert src.startswith("data:audio/wav;base64,")
    audio = api(users["annotator"]).get(f"/api/v1/recordings/{rid}/audio")
    assert base64.b64decode(src.split(",", 1)[1]) == b"".join(audio.streaming_content)
    served = AuditEvent.objects.filter(action="recording.served", object_id=str(rid), actor_id=users["annotator"].id)
    assert served.filter(data__route="annotator-page-audio").count() == 1


def test_annotate_page_points_a_longer_recording_at_the_audio_endpoint(
    project_with_roles, django_capture_on_commit_callbacks, monkeypatch
):
    """Past the embedding limit the <audio> element streams from the audio endpoint, and nothing is audited as
    served by the page."""
    from apps.annotation import embed
    from apps.consent.models import AuditEvent

    project, users = project_with_roles
    rid = _ingest_clip(project, users["manager"], django_capture_on_commit_callbacks)
    monkeypatch.setattr(embed, "EMBED_AUDIO_MAX_BYTES", 1000)
    html = _html(_client(users["annotator"]).get(f"/projects/{project.id}/annotate/"))
    assert _audio_src(html, rid) == f"/api/v1/recordings/{rid}/audio"
    assert not AuditEvent.objects.filter(data__route="annotator-page-audio").exists()
