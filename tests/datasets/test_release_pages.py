"""The releases page: the create form builds a release, errors come back as a sentence, progress and data card."""

import pytest

from apps.datasets.models import DatasetRelease

pytestmark = pytest.mark.django_db

FORM = {
    "name": "page release",
    "purpose": "train_models",
    "unit": "region",
    "margin": "0",
    "qa": "exclude_flagged",
    "audio_format": "flac",
    "ratio_train": "0.8",
    "ratio_validation": "0.1",
    "ratio_test": "0.1",
    "seed": "0",
    "formats": ["jsonl", "csv"],
}


def test_manager_builds_from_the_form_and_reads_the_data_card(client, corpus, django_capture_on_commit_callbacks):
    client.force_login(corpus["users"]["manager"])
    url = f"/projects/{corpus['project'].id}/releases/"
    page = client.get(url)
    assert (
        page.status_code == 200 and b'data-testid="release-form"' in page.content and b"No releases yet" in page.content
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**FORM, "labels": ["dog"]})
    release = DatasetRelease.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/releases/{release.id}/"
    assert release.spec["filters"]["labels"] == ["dog"] and release.spec["formats"] == ["jsonl", "csv"]
    detail = client.get(response["Location"]).content.decode()
    assert release.name in detail and "<h2>Splits</h2>" in detail and "/download/jsonl" in detail  # rendered Markdown
    assert "page release" in client.get(url).content.decode()


def test_form_errors_come_back_as_a_sentence_and_create_nothing(client, corpus):
    client.force_login(corpus["users"]["manager"])
    response = client.post(f"/projects/{corpus['project'].id}/releases/", {**FORM, "ratio_train": "0.5"})
    assert response.status_code == 400
    assert "Split ratios must sum to 1 (got 0.7)" in response.content.decode()
    assert not DatasetRelease.objects.exists()


def test_viewers_see_releases_but_no_form_and_cannot_post(client, corpus):
    client.force_login(corpus["users"]["viewer"])
    url = f"/projects/{corpus['project'].id}/releases/"
    assert b"release-form" not in client.get(url).content
    assert client.post(url, FORM).status_code == 404
    assert not DatasetRelease.objects.exists()


def test_a_building_release_shows_progress_and_refreshes(client, corpus):
    release = DatasetRelease.objects.create(
        project=corpus["project"],
        version=1,
        name="x",
        purpose="train_models",
        spec={},
        status="building",
        stage="writing",
        progress=42.0,
    )
    client.force_login(corpus["users"]["viewer"])
    html = client.get(f"/releases/{release.id}/").content.decode()
    assert 'http-equiv="refresh"' in html and 'value="42.0"' in html and "writing" in html
