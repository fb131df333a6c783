"""Saving, validating, conflicts, history and submit through the API."""

import pytest

from apps.annotation.models import Annotation, AnnotationVersion, Region
from tests.annotation.conftest import region
from tests.catalog.factories import RecordingFactory

pytestmark = pytest.mark.django_db


def _put(client, aid, version, regions, clip_labels=()):
    return client.put(
        f"/api/v1/annotations/{aid}/",
        {"version": version, "regions": regions, "clip_labels": list(clip_labels)},
        format="json",
    )


def test_queue_item_is_empty_version_zero(item):
    _, annotation, recording = item
    assert annotation["version"] == 0
    assert annotation["status"] == "in_progress"
    assert annotation["regions"] == []
    assert annotation["recording"] == recording["id"]
    assert recording["duration"] == 10.0 and recording["channels"] == 2


def test_save_stores_regions_and_bumps_version(item, schema):
    client, annotation, _ = item
    labels = schema[2]
    body = [
        region("b", 3.0, 4.5, label=labels["noise"].id, channel=1, attributes={"quality": "good"}),
        region("a", 0.1234, 1.0006, label=labels["speech"].id, text="hello world", fmin=100, fmax=4000),
    ]
    response = _put(client, annotation["id"], 0, body, [labels["clean"].id])
    assert response.status_code == 200, response.content
    saved = response.json()
    assert saved["version"] == 1
    assert [r["id"] for r in saved["regions"]] == ["a", "b"]  # time order
    assert saved["regions"][0]["start"] == 0.123 and saved["regions"][0]["end"] == 1.001  # ms precision
    assert saved["regions"][0]["text"] == "hello world"
    assert saved["regions"][1]["channel"] == 1
    assert saved["clip_labels"] == [labels["clean"].id]
    again = client.get(f"/api/v1/annotations/{annotation['id']}/").json()
    assert again == saved


@pytest.mark.parametrize(
    "bad, words",
    [
        (region(start=2.0, end=2.0), "start (2.0 s) must be before end"),
        (region(start=3.0, end=1.0), "must be before end"),
        (region(start=9.0, end=10.5), "past the end of the recording"),
        (region(start=-1.0, end=1.0), "must not be negative"),
        (region(label=999999), "is not a region label of this project"),
        (region(channel=2), "channel 2 does not exist"),
        (region(fmin=4000, fmax=100), "must be at least 0 and below fmax"),
        (region(fmin=100, fmax=None), "give both fmin and fmax"),
        (region(fmin=100, fmax=9000), "above the recording's Nyquist"),
        (region(start="soon"), "must be a number of seconds"),
        (region(uid=""), "id must be a non-empty string"),
        (region(attributes={"quality": "superb"}), "is not one of good, bad"),
        (region(attributes={"note": 5}), "must be text"),
    ],
)
def test_invalid_region_is_400_naming_the_field_and_writes_nothing(item, bad, words):
    client, annotation, _ = item
    assert _put(client, annotation["id"], 0, [region("ok", 0.0, 0.5, text="kept")]).status_code == 200
    response = _put(client, annotation["id"], 1, [region("ok2", 0.0, 0.5), bad])
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert words in detail and "regions[1]" in detail
    row = Annotation.objects.get(pk=annotation["id"])
    assert row.version == 1
    assert list(Region.objects.filter(annotation=row).values_list("uid", "text")) == [("ok", "kept")]
    assert AnnotationVersion.objects.filter(annotation=row).count() == 1


def test_region_with_clip_label_and_bad_clip_labels_are_refused(item, schema):
    client, annotation, _ = item
    labels = schema[2]
    response = _put(client, annotation["id"], 0, [region(label=labels["clean"].id)])
    assert response.status_code == 400 and "(that is a clip label)" in response.json()["detail"]
    response = _put(client, annotation["id"], 0, [], [labels["speech"].id])
    assert response.status_code == 400 and response.json()["detail"].startswith("clip_labels:")
    response = _put(client, annotation["id"], 0, [], [labels["clean"].id, labels["noisy"].id])
    assert response.status_code == 400 and "one clip label" in response.json()["detail"]
    response = _put(client, annotation["id"], 0, [region("x"), region("x", 3.0, 4.0)])
    assert response.status_code == 400 and "appears twice" in response.json()["detail"]
    assert Annotation.objects.get(pk=annotation["id"]).version == 0
    assert not Region.objects.exists() and not AnnotationVersion.objects.exists()


def test_missing_version_is_400(item):
    client, annotation, _ = item
    response = client.put(f"/api/v1/annotations/{annotation['id']}/", {"regions": []}, format="json")
    assert response.status_code == 400 and response.json()["detail"].startswith("version:")


def test_stale_version_is_409_with_current_and_keeps_both(item):
    client, annotation, _ = item
    aid = annotation["id"]
    assert _put(client, aid, 0, [region("mine", text="first tab")]).status_code == 200
    stale = _put(client, aid, 0, [region("other", text="second tab")])
    assert stale.status_code == 409
    body = stale.json()
    assert "out of date" in body["detail"]
    assert body["current"]["version"] == 1
    assert [r["text"] for r in body["current"]["regions"]] == ["first tab"]
    # The client resolves by saving on top of the current version: both are in the history.
    assert _put(client, aid, 1, [region("other", text="second tab")]).status_code == 200
    history = client.get(f"/api/v1/annotations/{aid}/versions/").json()
    assert [v["version"] for v in history] == [1, 2]
    assert [v["regions"][0]["text"] for v in history] == ["first tab", "second tab"]


def test_history_keeps_every_save(item):
    client, annotation, _ = item
    aid = annotation["id"]
    for version, text in enumerate(["a", "ab", "abc"]):
        assert _put(client, aid, version, [region(text=text)]).status_code == 200
    assert _put(client, aid, 3, []).status_code == 200
    history = client.get(f"/api/v1/annotations/{aid}/versions/").json()
    assert [(v["version"], v["kind"], [r["text"] for r in v["regions"]]) for v in history] == [
        (1, "save", ["a"]),
        (2, "save", ["ab"]),
        (3, "save", ["abc"]),
        (4, "save", []),
    ]


def test_submit_then_no_more_edits(item):
    client, annotation, _ = item
    aid = annotation["id"]
    assert _put(client, aid, 0, [region(text="done")]).status_code == 200
    assert client.post(f"/api/v1/annotations/{aid}/submit/", {"version": 0}, format="json").status_code == 409
    response = client.post(f"/api/v1/annotations/{aid}/submit/", {"version": 1}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "submitted" and response.json()["version"] == 2
    blocked = _put(client, aid, 2, [region(text="late change")])
    assert blocked.status_code == 400 and "can no longer be edited" in blocked.json()["detail"]
    assert Region.objects.get(annotation_id=aid).text == "done"
    assert client.get(f"/api/v1/annotations/{aid}/versions/").json()[-1]["kind"] == "submit"


def test_other_annotator_cannot_read_or_edit(item, make_user, schema):
    from rest_framework.test import APIClient

    from apps.accounts.models import Membership

    project = schema[0]
    client, annotation, _ = item
    aid = annotation["id"]
    other = make_user("other-annotator")
    Membership.objects.create(user=other, project=project, role="annotator")
    stranger = APIClient()
    stranger.force_authenticate(other)
    for call in (
        lambda: stranger.get(f"/api/v1/annotations/{aid}/"),
        lambda: _put(stranger, aid, 0, [region()]),
        lambda: stranger.post(f"/api/v1/annotations/{aid}/submit/", {"version": 0}, format="json"),
        lambda: stranger.post(f"/api/v1/annotations/{aid}/skip/"),
        lambda: stranger.get(f"/api/v1/annotations/{aid}/versions/"),
    ):
        response = call()
        assert response.status_code == 404 and response.json() == {"detail": "No such annotation."}
    assert Annotation.objects.get(pk=aid).version == 0


def test_other_project_member_gets_404_and_reviewer_reads_but_cannot_edit(item, schema, api, make_user):
    from apps.accounts.models import Membership
    from tests.catalog.factories import ProjectFactory

    client, annotation, _ = item
    aid = annotation["id"]
    outsider = make_user("outsider")
    Membership.objects.create(user=outsider, project=ProjectFactory(), role="manager")
    assert api(outsider).get(f"/api/v1/annotations/{aid}/").status_code == 404
    reviewer = api(schema[1]["reviewer"])
    assert reviewer.get(f"/api/v1/annotations/{aid}/").status_code == 200
    assert _put(reviewer, aid, 0, [region()]).status_code == 404
    viewer = api(schema[1]["viewer"])
    assert viewer.get(f"/api/v1/annotations/{aid}/").status_code == 404


def test_withdrawn_recording_answers_404(item):
    from apps.consent.models import ConsentRecord

    client, annotation, _ = item
    ConsentRecord.objects.all().delete()  # no live grant left for the speaker
    assert client.get(f"/api/v1/annotations/{annotation['id']}/").status_code == 404
    assert _put(client, annotation["id"], 0, [region()]).status_code == 404


def test_annotation_list_has_constant_queries(api, schema, django_assert_max_num_queries):
    from apps.annotation.services import annotation_save, annotation_submit, queue_next

    project, users, labels = schema
    annotator = users["annotator"]
    reviewer = api(users["reviewer"])

    def add(n):
        for _ in range(n):
            RecordingFactory(project=project, status="ready", duration=10.0)
        for _ in range(n):
            annotation, _ = queue_next(project_id=project.id, user=annotator)
            annotation = Annotation.objects.select_related("recording").get(pk=annotation.pk)
            annotation_save(
                annotation=annotation,
                user=annotator,
                version=0,
                clip_labels=[labels["clean"].id],
                regions=[region("a", label=labels["speech"].id), region("b", 3.0, 4.0)],
            )
            annotation_submit(annotation=annotation, user=annotator, version=1)

    add(2)
    with django_assert_max_num_queries(8) as small:
        assert len(reviewer.get(f"/api/v1/annotations/?project={project.id}").json()["results"]) == 2
    add(8)
    with django_assert_max_num_queries(len(small.captured_queries)):
        body = reviewer.get(f"/api/v1/annotations/?project={project.id}&status=submitted,accepted").json()
    assert len(body["results"]) == 10 and all(len(a["regions"]) == 2 for a in body["results"])
    bad = reviewer.get("/api/v1/annotations/?status=finished")
    assert bad.status_code == 400 and "'finished' is not one of" in bad.json()["detail"]


# One save, whatever the number of regions: annotation + recording + settings (1), the consent check of
# its recording (recording + project + policy + withdrawal + held speech, live grants: 2), label ids (1),
# SAVEPOINT, conditional version UPDATE, read of the stored regions, DELETE of changed/removed regions,
# INSERT of changed/new regions, clip-label DELETE + INSERT, the AnnotationVersion INSERT, the lock
# renewal UPDATE, RELEASE SAVEPOINT. (Outside a test transaction the savepoints are BEGIN/COMMIT.)
SAVE_QUERIES = 14


def test_save_query_count_does_not_grow_with_regions(
    item, schema, django_assert_num_queries, django_assert_max_num_queries
):
    client, annotation, _ = item
    labels = schema[2]
    speech = labels["speech"].id

    def regions(n, first=0):
        return [region(f"r{i}", i * 0.1, i * 0.1 + 0.05, label=speech, text="words") for i in range(first, n)]

    assert _put(client, annotation["id"], 0, regions(2)).status_code == 200
    # Every kind of write at once: r0 changed, r1 removed, r2 added, a clip label set.
    few = [region("r0", 0.0, 0.05, label=speech, text="changed"), *regions(3, first=2)]
    with django_assert_num_queries(SAVE_QUERIES):
        assert _put(client, annotation["id"], 1, few, [labels["clean"].id]).status_code == 200
    many = [region("r0", 0.0, 0.05, label=speech, text="changed again"), *regions(91, first=3)]
    with django_assert_max_num_queries(SAVE_QUERIES):
        saved = _put(client, annotation["id"], 2, many, [labels["noisy"].id])
    assert saved.status_code == 200 and len(saved.json()["regions"]) == 89
    assert saved.json() == client.get(f"/api/v1/annotations/{annotation['id']}/").json()
