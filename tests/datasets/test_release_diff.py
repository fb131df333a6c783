"""Release diff: two releases with one known change of each kind between them, through the API, the page and the
new release's card."""

import pytest
from django.test import Client

from apps.annotation.models import Annotation, Region
from apps.consent.models import ConsentRecord
from apps.consent.services import consent_withdraw
from apps.datasets.models import ReleaseItem
from apps.datasets.services import release_build, release_create
from apps.review.models import QAResult
from tests.catalog.factories import SpeakerFactory
from tests.datasets.conftest import annotate, stored_recording

pytestmark = pytest.mark.django_db


def build(corpus, **spec):
    release = release_create(
        actor=corpus["users"]["manager"],
        project_id=corpus["project"].id,
        spec={"unit": "region", "formats": ["jsonl"], **spec},
        enqueue=False,
    )
    release = release_build(release_id=release.id)
    assert release.status == "ready", release.error
    return release


def keys_of(rec) -> set[str]:
    return {k for k in ReleaseItem.objects.filter(recording_ref=rec.id).values_list("key", flat=True)}


def test_diff_lists_each_kind_of_change_with_its_reason(api, corpus, django_capture_on_commit_callbacks):
    users, labels = corpus["users"], corpus["labels"]
    recs = {s.code: [rec for rec, _ in corpus["recs"].values() if rec.speaker_id == s.id] for s in corpus["speakers"]}
    v1 = build(corpus, splits={"train": 0.6, "validation": 0.2, "test": 0.2})
    old = {i.key: i for i in ReleaseItem.objects.filter(release=v1)}

    relabel, retext, unfiltered, flagged = recs["spk1"][1], recs["spk2"][1], recs["spk3"][1], recs["spk4"][1]
    region = Region.objects.get(annotation__recording=relabel)
    region.label = labels["bird"]
    region.save()
    Region.objects.filter(annotation__recording=retext).update(text="a better transcript")
    Annotation.objects.filter(recording=unfiltered).update(status="rejected")  # the spec no longer selects it
    QAResult.objects.create(recording=flagged, project=corpus["project"], flagged=True, flags="clipping")
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(
            consent_id=ConsentRecord.objects.get(speaker=corpus["speakers"][5], status="granted").id,
            actor=users["manager"],
        )
    newcomer, _ = stored_recording(corpus["project"], SpeakerFactory(project=corpus["project"], code="spk6"), seed=77)
    annotate(newcomer, users["annotator"], [(0.1, 0.6, labels["dog"], "new words")])
    v2 = build(corpus, splits={"train": 0.5, "validation": 0.5}, seed=3)  # no test split: its examples move
    new = {i.key: i for i in ReleaseItem.objects.filter(release=v2)}

    response = api(users["viewer"]).get(f"/api/v1/releases/{v2.id}/diff/{v1.id}")
    assert response.status_code == 200, response.content
    diff = response.json()
    withdrawn = {k for r in recs["spk5"] for k in keys_of(r)}
    assert diff["added"] == [{"key": k, "split": new[k].split} for k in sorted(keys_of(newcomer))]
    removed = {(x["key"], x["reason"]) for x in diff["removed"]}
    assert removed == (
        {(k, "withdrawn") for k in withdrawn}
        | {(k, "filter") for k in keys_of(unfiltered)}
        | {(k, "qa") for k in keys_of(flagged)}
    )
    (changed_key,) = keys_of(relabel)
    assert diff["relabelled"] == [{"key": changed_key, "from": old[changed_key].labels, "to": ["bird"]}]
    assert diff["retranscribed"] == [{"key": k} for k in sorted(keys_of(retext))]
    moved = sorted(k for k in set(old) & set(new) if old[k].split != new[k].split)
    assert moved and [x["key"] for x in diff["moved"]] == moved
    assert all(old[x["key"]].split == x["from"] and new[x["key"]].split == x["to"] for x in diff["moved"])
    assert diff["summary"] == {
        "added": 1,
        "removed": len(removed),
        "relabelled": 1,
        "retranscribed": len(keys_of(retext)),
        "moved": len(moved),
        "removed_by_reason": {
            "withdrawn": len(withdrawn),
            "qa": len(keys_of(flagged)),
            "filter": len(keys_of(unfiltered)),
        },
    }
    assert "a better transcript" not in response.content.decode() and "text 5-" not in response.content.decode()

    # The new release's card sums its diff from the previous release up; the detail page links the diff page.
    assert v2.stats["diff"]["against_version"] == 1 and v2.stats["diff"]["added"] == 1
    assert "## Changes since version 1" in v2.data_card and "| relabelled | 1 |" in v2.data_card
    assert "## Changes since version" not in v1.data_card
    browser = Client()
    browser.force_login(users["viewer"])
    detail = browser.get(f"/releases/{v2.id}/").content.decode()
    assert f"/releases/{v2.id}/diff/{v1.id}/" in detail and "Changes since version 1" in detail
    page = browser.get(f"/releases/{v2.id}/diff/{v1.id}/")
    assert page.status_code == 200 and changed_key in page.content.decode() and "qa" in page.content.decode()

    # The other way round, additions and removals swap (and the withdrawn stay withdrawn).
    back = api(users["viewer"]).get(f"/api/v1/releases/{v1.id}/diff/{v2.id}").json()
    assert {x["key"] for x in back["removed"] if x["reason"] == "filter"} == keys_of(newcomer)
    assert {x["key"] for x in back["added"]} == keys_of(unfiltered) | keys_of(flagged)


def test_diff_needs_two_releases_of_one_project_the_user_may_see(api, corpus, make_user):
    from apps.catalog.services import project_create

    v1 = build(corpus)
    other_project = project_create(name="Elsewhere", created_by=corpus["users"]["manager"])
    outsider = make_user("outsider")
    assert api(outsider).get(f"/api/v1/releases/{v1.id}/diff/{v1.id}").status_code == 404
    assert api(corpus["users"]["viewer"]).get(f"/api/v1/releases/{v1.id}/diff/999999").status_code == 404
    same = api(corpus["users"]["viewer"]).get(f"/api/v1/releases/{v1.id}/diff/{v1.id}").json()
    assert same["summary"]["added"] == same["summary"]["removed"] == same["summary"]["moved"] == 0
    from apps.datasets.models import DatasetRelease

    foreign = DatasetRelease.objects.create(
        project=other_project, version=1, name="x", purpose="train_models", spec={}, status="ready"
    )
    response = api(corpus["users"]["manager"]).get(f"/api/v1/releases/{v1.id}/diff/{foreign.id}")
    assert response.status_code == 404 and "same project" in response.json()["detail"]
