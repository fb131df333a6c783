"""The collection API and pages: status codes, sentences, refusals; nothing half-written on bad input."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.collection.conftest import CONSENT_TEXT
from tests.conftest import make_audio

pytestmark = pytest.mark.django_db


def _join(api, campaign, purposes=("store", "review")):
    return api().post(
        f"/api/v1/collect/{campaign.public_token}/join/",
        {"purposes": list(purposes), "age_band": "18-29"},
        format="json",
    )


def _clip(api, key, prompt="p1", upload_key="upload-key-0001", data=None):
    client = api()
    audio = SimpleUploadedFile("clip.wav", data or make_audio(seconds=1.0, sr=48000), content_type="audio/wav")
    return client.post(
        "/api/v1/collect/clips/",
        {"prompt": prompt, "upload_key": upload_key, "audio": audio},
        format="multipart",
        HTTP_X_CONTRIBUTOR_KEY=key,
    )


def test_manager_creates_a_campaign_and_imports_prompts_over_the_api(api, project_with_roles):
    project, users = project_with_roles
    manager = api(users["manager"])
    response = manager.post(
        f"/api/v1/projects/{project.id}/campaigns/",
        {"name": "Voices", "consent_text": CONSENT_TEXT, "purposes_asked": ["store", "review"], "votes_needed": 3},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["form_version"] == 1 and body["public_path"].startswith("/collect/") and body["votes_needed"] == 3
    cid = body["id"]
    prompts = SimpleUploadedFile("prompts.tsv", b"id\ttext\ttags\na1\tHello there.\tgreeting\n")
    response = manager.post(
        f"/api/v1/campaigns/{cid}/prompts/", {"language": "en", "file": prompts}, format="multipart"
    )
    assert response.status_code == 201 and response.json()[0]["tags"] == ["greeting"]
    response = manager.post(f"/api/v1/campaigns/{cid}/prompts/", {"language": "en", "content": "id,text\nb1,\n"})
    assert response.status_code == 400 and response.json()["detail"] == "Line 2: the prompt text is empty."
    response = manager.post(f"/api/v1/campaigns/{cid}/invites/", {"count": 2, "max_contributors": 3}, format="json")
    assert response.status_code == 201 and len(response.json()) == 2
    bad = manager.post(
        f"/api/v1/projects/{project.id}/campaigns/",
        {"name": "X", "consent_text": "t", "purposes_asked": ["review"]},
        format="json",
    )
    assert bad.status_code == 400 and "must include store" in bad.json()["detail"]
    for role in ("annotator", "viewer"):
        refused = api(users[role]).post(f"/api/v1/campaigns/{cid}/invites/", {"count": 1}, format="json")
        assert refused.status_code in (403, 404)


def test_contributor_joins_and_uploads_once_per_key_without_an_account(api, campaign):
    from apps.collection.models import Clip

    joined = _join(api, campaign)
    assert joined.status_code == 201
    body = joined.json()
    assert [p["id"] for p in body["prompts"]] == ["p1", "p2", "p3"] and "/optout/" in body["optout_url"]
    first = _clip(api, body["key"])
    assert first.status_code == 201 and first.json()["prompt"] == "p1"
    again = _clip(api, body["key"])  # the same upload retried: 200, the same clip, nothing new
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Clip.objects.count() == 1
    left = api().get("/api/v1/collect/prompts/", HTTP_X_CONTRIBUTOR_KEY=body["key"])
    assert [p["id"] for p in left.json()["prompts"]] == ["p2", "p3"]


def test_bad_contributor_requests_get_a_sentence_and_write_nothing(api, campaign):
    from apps.catalog.models import Recording, Speaker

    refused = _join(api, campaign, purposes=["review"])
    assert refused.status_code == 400 and "please tick: store" in refused.json()["detail"]
    assert not Speaker.objects.exists()
    assert api().post("/api/v1/collect/nope/join/", {"purposes": ["store"]}, format="json").status_code == 404
    key = _join(api, campaign).json()["key"]
    assert _clip(api, "wrong-key").status_code == 404
    bad = _clip(api, key, data=b"RIFF....WAVEfmt garbage")
    assert bad.status_code == 400 and "not a readable WAV" in bad.json()["detail"]
    short_key = _clip(api, key, upload_key="x")
    assert short_key.status_code == 400 and "upload_key" in short_key.json()["detail"]
    assert not Recording.objects.exists()


def test_contributor_page_is_public_allows_the_microphone_and_says_what_is_asked(client, campaign):
    response = client.get(f"/collect/{campaign.public_token}/")
    assert response.status_code == 200
    assert "microphone=(self)" in response["Permissions-Policy"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    html = response.content.decode()
    assert CONSENT_TEXT in html and 'data-testid="purpose-train_models"' in html
    assert 'data-testid="purpose-commercial"' not in html  # only what the campaign asks
    assert "<script>" not in html  # the page's data is JSON, its code a static module
    assert client.get("/collect/not-a-code/").status_code == 404
    assert "microphone=()" in client.get("/accounts/login/")["Permissions-Policy"]


def test_coverage_counts_against_targets_and_void_over_the_api(api, campaign, join, upload, project_with_roles):
    users = project_with_roles[1]
    a = join(age_band="30-44")
    b = join()
    upload(a, "p1")
    upload(a, "p2")
    upload(b, "p1")
    coverage = api(users["viewer"]).get(f"/api/v1/campaigns/{campaign.pk}/coverage/").json()
    assert coverage["clips"] == 3 and coverage["queue"] == 3
    (en,) = coverage["dimensions"]["language"]
    assert (en["value"], en["clips"], en["target"], en["percent"]) == ("en", 3, 10, 30.0)
    ages = {r["value"]: r["clips"] for r in coverage["dimensions"]["age_band"]}
    assert ages == {"30-44": 2, "": 1}
    assert [p["key"] for p in coverage["prompts_missing"]] == ["p2", "p3"]  # p1 has its 2 clips
    assert coverage["contributors"] == {"joined": 2, "recorded": 2, "voided": 0}
    url = f"/api/v1/campaigns/{campaign.pk}/contributors/{a.contributor.pk}/void/"
    assert api(users["reviewer"]).post(url, {}, format="json").status_code in (403, 404)
    voided = api(users["manager"]).post(url, {"reason": "not their voice"}, format="json")
    assert voided.status_code == 200 and voided.json()["clips_voided"] == 2
    assert api(users["manager"]).post(url, {}, format="json").status_code == 409
    after = api(users["viewer"]).get(f"/api/v1/campaigns/{campaign.pk}/coverage/").json()
    assert after["clips"] == 1 and after["contributors"]["voided"] == 1
    assert api(users["annotator"]).get(f"/api/v1/campaigns/{campaign.pk}/coverage/").status_code == 403


def test_validate_page_plays_the_clip_and_counts_the_vote(client, campaign, join, upload, project_with_roles):
    users = project_with_roles[1]
    clip, _ = upload(join(), "p2")
    client.force_login(users["annotator"])
    page = client.get(f"/campaigns/{campaign.pk}/validate/")
    assert page.status_code == 200 and "A stitch in time saves nine." in page.content.decode()
    audio = client.get(f"/campaigns/clips/{clip.pk}/audio")
    assert audio.status_code == 200 and b"".join(audio.streaming_content)[:4] == b"RIFF"
    client.post(f"/campaigns/{campaign.pk}/validate/", {"clip": clip.pk, "matches": "yes"})
    clip.refresh_from_db()
    assert clip.up_votes == 1
    assert "No clip is waiting" in client.get(f"/campaigns/{campaign.pk}/validate/").content.decode()
    client.force_login(users["viewer"])
    assert client.get(f"/campaigns/clips/{clip.pk}/audio").status_code == 404
    assert client.get(f"/campaigns/{campaign.pk}/validate/").status_code == 404
    coverage = client.get(f"/campaigns/{campaign.pk}/coverage/")
    assert coverage.status_code == 200 and 'data-testid="cov-clips">1<' in coverage.content.decode()


def test_contributor_page_speaks_the_campaigns_language(client, campaign):
    from apps.collection.pages import PURPOSE_WORDS
    from apps.consent.pages import PLAIN

    assert PURPOSE_WORDS == PLAIN  # the same promise as the opt-out page, in words a translator can find
    campaign.ui_language = "fr"
    campaign.save()
    html = client.get(f"/collect/{campaign.public_token}/").content.decode()
    assert '<html lang="fr">' in html
    assert "Avant d’enregistrer : votre consentement" in html
    assert "Conserver vos enregistrements sur nos serveurs" in html
    assert "Phrase %(n)s sur %(total)s" in html  # the script's sentences too
    campaign.ui_language = "en"
    campaign.save()
    assert "Before you record: your consent" in client.get(f"/collect/{campaign.public_token}/").content.decode()


def test_manager_voids_from_the_coverage_page_and_bad_input_is_a_404(
    client, campaign, join, upload, project_with_roles
):
    users = project_with_roles[1]
    joined = join()
    upload(joined, "p1")
    client.force_login(users["manager"])
    url = f"/campaigns/{campaign.pk}/coverage/"
    assert client.post(url, {"contributor": "x1"}).status_code == 404
    assert client.post(url, {"contributor": "999999"}).status_code == 404
    done = client.post(url, {"contributor": joined.contributor.pk, "reason": "spam"}, follow=True)
    assert "1 clip(s) taken out" in done.content.decode()
    client.force_login(users["viewer"])
    assert client.post(url, {"contributor": joined.contributor.pk}).status_code == 404
