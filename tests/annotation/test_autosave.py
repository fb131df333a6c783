"""The lean autosave path: rows diffed by uid, the response built from what was written, settings joined."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.annotation.models import Annotation, AnnotationSettings, AnnotationVersion, Assignment, Region
from tests.annotation.conftest import region

pytestmark = pytest.mark.django_db


def _put(client, aid, version, regions, clip_labels=()):
    return client.put(
        f"/api/v1/annotations/{aid}/",
        {"version": version, "regions": regions, "clip_labels": list(clip_labels)},
        format="json",
    )


def _rows(aid):
    return {r.uid: r for r in Region.objects.filter(annotation_id=aid)}


def test_unchanged_regions_keep_their_rows_changed_ones_are_replaced_removed_ones_go(item, schema):
    client, annotation, _ = item
    aid, speech = annotation["id"], schema[2]["speech"].id
    first = [
        region("keep", 1.0, 2.0, label=speech, text="same"),
        region("edit", 3.0, 4.0, text="old"),
        region("drop", 5.0, 6.0),
        region("flag", 7.0, 8.0, attributes={"seen": 1}),
    ]
    assert _put(client, aid, 0, first).status_code == 200
    before = _rows(aid)
    second = [
        region("keep", 1.0, 2.0, label=speech, text="same"),
        region("edit", 3.0, 4.0, text="new"),
        region("flag", 7.0, 8.0, attributes={"seen": True}),
        region("new", 8.5, 9.0),
    ]
    saved = _put(client, aid, 1, second)
    assert saved.status_code == 200, saved.content
    after = _rows(aid)
    assert set(after) == {"keep", "edit", "flag", "new"}
    assert after["keep"].pk == before["keep"].pk  # untouched row
    assert after["edit"].pk != before["edit"].pk and after["edit"].text == "new"
    # true and 1 are equal in Python but not in JSON: still a change.
    assert after["flag"].attributes == {"seen": True} and after["flag"].pk != before["flag"].pk
    assert saved.json() == client.get(f"/api/v1/annotations/{aid}/").json()


def test_clip_labels_are_replaced_and_cleared(item, schema):
    client, annotation, _ = item
    aid, labels = annotation["id"], schema[2]
    AnnotationSettings.objects.create(project=schema[0], clip_multi=True)
    assert _put(client, aid, 0, [], [labels["clean"].id, labels["noisy"].id]).json()["clip_labels"] == sorted(
        [labels["clean"].id, labels["noisy"].id]
    )
    assert _put(client, aid, 1, [], [labels["noisy"].id]).json()["clip_labels"] == [labels["noisy"].id]
    assert list(Annotation.objects.get(pk=aid).clip_labels.values_list("id", flat=True)) == [labels["noisy"].id]
    cleared = _put(client, aid, 2, [], [])
    assert cleared.json()["clip_labels"] == [] and not Annotation.objects.get(pk=aid).clip_labels.exists()


def test_settings_come_from_the_project_clip_multi_and_lock_minutes(item, schema):
    client, annotation, _ = item
    aid, labels = annotation["id"], schema[2]
    two = [labels["clean"].id, labels["noisy"].id]
    refused = _put(client, aid, 0, [], two)
    assert refused.status_code == 400 and "one clip label" in refused.json()["detail"]
    AnnotationSettings.objects.create(project=schema[0], clip_multi=True, lock_minutes=240)
    started = timezone.now()
    assert _put(client, aid, 0, [], two).status_code == 200
    lock = Assignment.objects.get(recording_id=annotation["recording"], annotator=schema[1]["annotator"]).locked_until
    assert started + timedelta(minutes=239) < lock < timezone.now() + timedelta(minutes=241)


def test_a_stale_save_writes_nothing(item, schema):
    client, annotation, _ = item
    aid, labels = annotation["id"], schema[2]
    assert _put(client, aid, 0, [region("a", text="kept")], [labels["clean"].id]).status_code == 200
    rows = {(r.pk, r.uid, r.text) for r in Region.objects.filter(annotation_id=aid)}
    stale = _put(client, aid, 0, [region("b", text="lost")], [labels["noisy"].id])
    assert stale.status_code == 409 and stale.json()["current"]["version"] == 1
    assert {(r.pk, r.uid, r.text) for r in Region.objects.filter(annotation_id=aid)} == rows
    assert list(Annotation.objects.get(pk=aid).clip_labels.values_list("id", flat=True)) == [labels["clean"].id]
    assert AnnotationVersion.objects.filter(annotation_id=aid).count() == 1


def test_invalid_save_after_content_writes_nothing(item):
    client, annotation, _ = item
    aid = annotation["id"]
    assert _put(client, aid, 0, [region("a", 1.0, 2.0, text="kept")]).status_code == 200
    bad = _put(client, aid, 1, [region("a", 1.0, 2.0, text="changed"), region("b", 3.0, 2.0)])
    assert bad.status_code == 400 and "regions[1]: start (3.0 s) must be before end" in bad.json()["detail"]
    assert [(r.uid, r.text) for r in Region.objects.filter(annotation_id=aid)] == [("a", "kept")]
    assert Annotation.objects.get(pk=aid).version == 1
