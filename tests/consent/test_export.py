"""Subject access (issue 12, point 10): the form text agreed to, the releases that received the data, the
derived data held, and when purges are due."""

import io
import json
import zipfile

import pytest

from apps.consent import services

pytestmark = pytest.mark.django_db


def test_export_has_form_text_releases_derived_data_and_purge_dates(api, consent_world, settings):
    from apps.datasets.models import DatasetRelease, ReleaseItem
    from apps.processing.models import Artifact

    w, manager = consent_world, consent_world["users"]["manager"]
    settings.EARMARK_PURGE_GRACE_DAYS = 7
    form = services.consent_form_create(
        title="Voice study",
        text="I agree that my voice may be used for X.",
        purposes=["store", "annotate"],
        project=w["project"],
    )
    services.consent_record(speaker=w["alice"], actor=manager, purposes=["store"], form=form)
    release = DatasetRelease.objects.create(
        project=w["project"], version=3, name="v3", purpose="train_models", spec={}, status="ready"
    )
    ReleaseItem.objects.create(
        release=release,
        key="k1",
        recording=w["a1"],
        recording_ref=w["a1"].id,
        split="train",
        audio_sha256=w["a1"].sha256,
    )
    Artifact.objects.create(
        recording=w["a1"],
        source_sha256=w["a1"].sha256,
        recipe_hash="r" * 64,
        kind="mfcc",
        key="artifacts/x/mfcc.npy",
        bytes=1234,
    )
    services.consent_withdraw(consent_id=w["alice_consent"].id, actor=manager, recording_ids=[w["a2"].id])
    response = api(manager).get(f"/api/v1/speakers/{w['alice'].id}/export")
    assert response.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(zf.namelist())
    assert f"forms/form-{form.id}-v1.txt" in names
    assert "I agree that my voice may be used for X." in zf.read(f"forms/form-{form.id}-v1.txt").decode()
    consents = json.loads(zf.read("consents.json"))
    assert [c["form"]["text"] for c in consents if c["form"]] == ["I agree that my voice may be used for X."]
    releases = json.loads(zf.read("releases.json"))
    assert [(r["release_id"], r["version"], [x["recording_id"] for x in r["recordings"]]) for r in releases] == [
        (release.id, 3, [w["a1"].id])
    ]
    derived = {d["recording_id"]: d["artifacts"] for d in json.loads(zf.read("derived.json"))}
    assert [a["kind"] for a in derived[w["a1"].id]] == ["mfcc"] and derived[w["a2"].id] == []
    recordings = {r["id"]: r for r in json.loads(zf.read("recordings.json"))}
    assert recordings[w["a2"].id]["purge"]["state"] == "pending" and recordings[w["a2"].id]["purge"]["due_at"]
    assert recordings[w["a1"].id]["purge"] is None
    assert "releases.json" in zf.read("README.txt").decode()
