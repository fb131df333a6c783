"""QA API: filters, refusals with a sentence, manager acceptance with a note, constant query counts."""

import pytest

from apps.catalog.models import Project
from apps.review.models import QAResult
from tests.catalog.factories import RecordingFactory

pytestmark = pytest.mark.django_db


def _result(project, flags=(), **metrics):
    recording = RecordingFactory(project=project)
    values = {"duration_s": 1.0, "snr_db": 30.0, "silence_ratio": 0.1, **metrics}
    return QAResult.objects.create(
        recording=recording,
        project=project,
        flags="," + ",".join(flags) + "," if flags else "",
        flagged=bool(flags),
        **values,
    )


@pytest.fixture
def seeded(project_with_roles):
    project, users = project_with_roles
    clean = _result(project)
    clipped = _result(project, ["clipping"], snr_db=12.0)
    noisy = _result(project, ["low_snr", "silence"], snr_db=3.0, silence_ratio=0.9)
    return project, users, {"clean": clean, "clipped": clipped, "noisy": noisy}


def _ids(response):
    return {row["recording"] for row in response.json()["results"]}


def test_filters_by_flag_flagged_and_metric_range(api, seeded):
    project, users, r = seeded
    client = api(users["viewer"])
    url = f"/api/v1/projects/{project.id}/qa/"
    assert _ids(client.get(url)) == {x.recording_id for x in r.values()}
    assert _ids(client.get(url, {"flag": "clipping"})) == {r["clipped"].recording_id}
    assert _ids(client.get(url + "?flag=low_snr&flag=silence")) == {r["noisy"].recording_id}
    assert _ids(client.get(url + "?flag=low_snr&flag=clipping")) == set()
    assert _ids(client.get(url, {"flagged": "false"})) == {r["clean"].recording_id}
    assert _ids(client.get(url, {"min_snr_db": "5", "max_snr_db": "20"})) == {r["clipped"].recording_id}
    row = client.get(url, {"flag": "clipping"}).json()["results"][0]
    assert row["flags"] == ["clipping"] and row["snr_db"] == 12.0


@pytest.mark.parametrize(
    "query, sentence",
    [
        ({"flag": "hum"}, "Unknown QA flag 'hum'"),
        ({"min_snr_db": "loud"}, "min_snr_db must be a number"),
        ({"flagged": "maybe"}, "flagged must be true or false"),
    ],
)
def test_bad_filters_are_400_with_a_sentence(api, seeded, query, sentence):
    project, users, _ = seeded
    response = api(users["viewer"]).get(f"/api/v1/projects/{project.id}/qa/", query)
    assert response.status_code == 400
    assert sentence in response.json()["detail"]


def test_list_query_count_is_constant(api, seeded, django_assert_max_num_queries):
    project, users, _ = seeded
    client = api(users["viewer"])
    url = f"/api/v1/projects/{project.id}/qa/"
    with django_assert_max_num_queries(4) as small:
        client.get(url)
    for _i in range(20):
        _result(project, ["clipping"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(url).json()["results"]) == 23


def test_outsider_gets_404(api, seeded, make_user):
    project, _, _ = seeded
    assert api(make_user("stranger")).get(f"/api/v1/projects/{project.id}/qa/").status_code == 404


def test_manager_accepts_flagged_recording_with_note(api, seeded):
    project, users, r = seeded
    url = f"/api/v1/recordings/{r['clipped'].recording_id}/qa/accept/"
    response = api(users["manager"]).post(url, {"note": "clipping is part of the scene"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["accepted_note"] == "clipping is part of the scene" and body["accepted_by"] == "manager"
    again = api(users["manager"]).post(url, {"note": "again"}, format="json")
    assert again.status_code == 409 and "accepted already" in again.json()["detail"]
    accepted = api(users["viewer"]).get(f"/api/v1/projects/{project.id}/qa/", {"accepted": "true"})
    assert _ids(accepted) == {r["clipped"].recording_id}


def test_accept_refusals_leave_nothing_written(api, seeded):
    project, users, r = seeded
    url = f"/api/v1/recordings/{r['clipped'].recording_id}/qa/accept/"
    no_note = api(users["manager"]).post(url, {"note": "  "}, format="json")
    assert no_note.status_code == 400 and "note must not be empty" in no_note.json()["detail"]
    reviewer = api(users["reviewer"]).post(url, {"note": "fine"}, format="json")
    assert reviewer.status_code == 403 and "manager" in reviewer.json()["detail"]
    clean = api(users["manager"]).post(
        f"/api/v1/recordings/{r['clean'].recording_id}/qa/accept/", {"note": "x"}, format="json"
    )
    assert clean.status_code == 400 and "no QA flags" in clean.json()["detail"]
    assert not QAResult.objects.filter(accepted_at__isnull=False).exists()


def test_settings_update_validates_and_is_manager_only(api, seeded):
    project, users, _ = seeded
    url = f"/api/v1/projects/{project.id}/qa/settings/"
    assert api(users["viewer"]).get(url).json()["min_snr_db"] == 15.0
    assert api(users["reviewer"]).put(url, {"min_snr_db": 10}, format="json").status_code == 403
    bad = api(users["manager"]).put(url, {"min_duration": 10, "max_duration": 2}, format="json")
    assert bad.status_code == 400 and "min_duration" in bad.json()["detail"]
    assert not Project.objects.filter(qa_settings__isnull=False).exists()
    ok = api(users["manager"]).put(url, {"min_snr_db": 10, "expected_channels": 1}, format="json")
    assert ok.status_code == 200 and ok.json()["min_snr_db"] == 10.0
    assert api(users["viewer"]).get(url).json()["expected_channels"] == 1
