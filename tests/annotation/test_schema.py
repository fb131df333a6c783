"""Label schemas through projects/{id}/labels/: members read, managers write, bad input writes nothing."""

import pytest

from apps.annotation.models import Label, RegionField
from apps.annotation.services import annotation_save

pytestmark = pytest.mark.django_db


def _url(project):
    return f"/api/v1/projects/{project.id}/labels/"


def test_members_read_the_schema(schema, api):
    project, users, labels = schema
    for role in ("manager", "annotator", "reviewer", "viewer"):
        body = api(users[role]).get(_url(project)).json()
        assert [lb["name"] for lb in body["region_labels"]] == ["speech", "noise"]
        assert [lb["name"] for lb in body["clip_labels"]] == ["clean", "noisy"]
        assert body["region_labels"][0] == {
            "id": labels["speech"].id,
            "name": "speech",
            "color": "#4e79a7",
            "hotkey": "1",
        }
        assert body["clip_multi"] is False and body["transcript"] is True
        assert body["region_fields"] == [
            {"name": "note", "type": "text", "choices": []},
            {"name": "quality", "type": "choice", "choices": ["good", "bad"]},
        ]


def test_outsider_gets_404_and_non_managers_cannot_write(schema, api, make_user):
    project, users, _ = schema
    assert api(make_user("stranger")).get(_url(project)).status_code == 404
    for role in ("annotator", "reviewer", "viewer"):
        response = api(users[role]).put(_url(project), {"region_labels": []}, format="json")
        assert response.status_code == 403 and "manager" in response.json()["detail"]
    assert Label.objects.count() == 4


def test_manager_replaces_schema_keeping_ids_of_renamed_labels(schema, api):
    project, users, labels = schema
    body = {
        "region_labels": [
            {"id": labels["noise"].id, "name": "music", "hotkey": "1"},
            {"id": labels["speech"].id, "name": "speech", "hotkey": "2", "color": "#000000"},
            {"name": "laugh"},
        ],
        "clip_labels": [{"name": "clean"}],
        "region_fields": [{"name": "speaker_turn", "type": "checkbox"}],
        "clip_multi": True,
        "overlap": 3,
        "lock_minutes": 10,
    }
    response = api(users["manager"]).put(_url(project), body, format="json")
    assert response.status_code == 200, response.content
    out = response.json()
    assert [(lb["name"], lb["hotkey"]) for lb in out["region_labels"]] == [
        ("music", "1"),
        ("speech", "2"),
        ("laugh", ""),
    ]
    assert out["region_labels"][0]["id"] == labels["noise"].id  # renamed, same row
    assert out["region_labels"][2]["color"].startswith("#")  # palette default
    assert [lb["id"] for lb in out["clip_labels"]] == [labels["clean"].id]  # matched by name; "noisy" removed
    assert out["region_fields"] == [{"name": "speaker_turn", "type": "checkbox", "choices": []}]
    assert out["clip_multi"] is True and out["overlap"] == 3 and out["lock_minutes"] == 10


@pytest.mark.parametrize(
    "body, words",
    [
        ({"region_labels": [{"name": "a"}, {"name": "A"}]}, "'A' is used twice"),
        ({"region_labels": [{"name": "a", "hotkey": "0"}]}, "must be one of the keys 1 to 9"),
        ({"region_labels": [{"name": "a", "hotkey": "3"}, {"name": "b", "hotkey": "3"}]}, "hotkey '3' is used twice"),
        ({"region_labels": [{"name": "a", "color": "red; x"}]}, "is not a hex colour"),
        ({"region_labels": [{"name": "  "}]}, "region_labels: 0: name: This field may not be blank."),
        ({"region_fields": [{"name": "mood", "type": "choice"}]}, "needs at least one choice"),
        ({"region_fields": [{"name": "mood", "type": "slider"}]}, "region_fields"),
        ({"overlap": 0}, "overlap"),
        ({"region_labels": [{"id": 987654, "name": "ghost"}]}, "is not a region label of this project"),
    ],
)
def test_bad_schema_is_400_and_changes_nothing(schema, api, body, words):
    project, users, _ = schema
    before = list(Label.objects.order_by("id").values_list("id", "name", "hotkey", "color"))
    body = {**body, "clip_labels": [{"name": "only-this"}]} if "clip_labels" not in body else body
    response = api(users["manager"]).put(_url(project), body, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert list(Label.objects.order_by("id").values_list("id", "name", "hotkey", "color")) == before
    assert RegionField.objects.count() == 2


def test_label_in_use_cannot_be_removed(item, schema, api):
    project, users, labels = schema
    client, annotation, _ = item
    from apps.annotation.models import Annotation

    row = Annotation.objects.select_related("recording").get(pk=annotation["id"])
    annotation_save(
        annotation=row,
        user=users["annotator"],
        version=0,
        clip_labels=[],
        regions=[{"id": "r", "start": 0, "end": 1, "label": labels["noise"].id}],
    )
    response = api(users["manager"]).put(_url(project), {"region_labels": [{"name": "speech"}]}, format="json")
    assert response.status_code == 400
    assert (
        response.json()["detail"]
        == "The label 'noise' is used in annotations and cannot be removed; rename it instead."
    )
    assert Label.objects.filter(pk=labels["noise"].id).exists()


def test_post_adds_one_label(schema, api):
    project, users, _ = schema
    manager = api(users["manager"])
    response = manager.post(_url(project), {"kind": "clip", "name": "music", "hotkey": "3"}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "clip"
    duplicate = manager.post(_url(project), {"kind": "clip", "name": "Music"}, format="json")
    assert duplicate.status_code == 400 and "used twice" in duplicate.json()["detail"]
    assert Label.objects.filter(project=project, kind="clip").count() == 3


def test_schema_read_has_constant_queries(schema, api, django_assert_max_num_queries):
    project, users, _ = schema
    client = api(users["annotator"])
    with django_assert_max_num_queries(10) as few:
        client.get(_url(project))
    for i in range(20):
        Label.objects.create(project=project, kind="region", name=f"extra {i}")
        RegionField.objects.create(project=project, name=f"f{i}", type="text")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(_url(project)).json()["region_labels"]) == 22


def test_model_validation_matches_the_service_for_admin_forms(schema):
    from django.core.exceptions import ValidationError

    project = schema[0]
    with pytest.raises(ValidationError, match="already uses 1"):
        Label(project=project, kind="region", name="third", hotkey="1").full_clean()
    with pytest.raises(ValidationError, match="keys 1 to 9"):
        Label(project=project, kind="region", name="third", hotkey="0").full_clean()
    with pytest.raises(ValidationError, match="hex colour"):
        Label(project=project, kind="region", name="third", color="red").full_clean()
    with pytest.raises(ValidationError, match="at least one choice"):
        RegionField(project=project, name="mood", type="choice", choices=[]).full_clean()
    Label(project=project, kind="clip", name="third", hotkey="1", color="#abc").full_clean()  # clip keys are separate


def test_swapping_names_by_id_keeps_rows_apart(schema, api):
    project, users, labels = schema
    body = {
        "region_labels": [
            {"id": labels["speech"].id, "name": "noise"},
            {"name": "speech"},
            {"id": labels["noise"].id, "name": "other"},
        ]
    }
    out = api(users["manager"]).put(_url(project), body, format="json").json()["region_labels"]
    assert [(lb["id"] == labels["speech"].id, lb["name"]) for lb in out] == [
        (True, "noise"),
        (False, "speech"),
        (False, "other"),
    ]
    assert out[2]["id"] == labels["noise"].id
    twice = api(users["manager"]).put(
        _url(project),
        {"region_labels": [{"id": labels["speech"].id, "name": "a"}, {"id": labels["speech"].id, "name": "b"}]},
        format="json",
    )
    assert twice.status_code == 400 and "is listed twice" in twice.json()["detail"]
